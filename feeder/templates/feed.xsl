<?xml version="1.0" encoding="UTF-8"?>
<!--
  Shows a feed as a page when a person opens its URL in a browser; feed readers
  ignore it. One stylesheet serves both formats: every value is selected as the
  union of its RSS 2.0 and its Atom 1.0 element, and a feed has only one of them.
  Text is copied with value-of, so nothing in a feed can become markup here.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    exclude-result-prefixes="atom">
<xsl:output method="html" encoding="UTF-8" doctype-system="about:legacy-compat"/>

<xsl:template match="/">
  <xsl:apply-templates select="rss/channel | atom:feed"/>
</xsl:template>

<xsl:template match="channel | atom:feed">
  <xsl:variable name="self" select="atom:link[@rel='self']/@href"/>
  <html lang="{language | @xml:lang}">
  <head>
  <meta name="viewport" content="width=device-width, initial-scale=1"/>
  <title><xsl:value-of select="title | atom:title"/></title>
  <style>
{% include "style.css" +%}
article h2 { font-size: 1.15em; margin: 1.4em 0 .2em; }
.subscribe { background: #f3f6fb; padding: .6em .9em; border-radius: 4px; }
  </style>
  </head>
  <body>
  <h1><xsl:value-of select="title | atom:title"/></h1>
  <p class="subscribe">This is a news feed. To subscribe, copy its address into your feed reader:
    <a href="{$self}"><xsl:value-of select="$self"/></a></p>
  <p class="hint"><a href="{link | atom:link[not(@rel) or @rel='alternate']/@href}">All categories and their feeds</a></p>
  <xsl:apply-templates select="item | atom:entry"/>
  </body>
  </html>
</xsl:template>

<xsl:template match="item | atom:entry">
  <article>
  <h2><a href="{link | atom:link[not(@rel) or @rel='alternate']/@href}"><xsl:value-of select="title | atom:title"/></a></h2>
  <p class="meta"><xsl:apply-templates select="pubDate | atom:published"/></p>
  <p><xsl:value-of select="description | atom:summary"/></p>
  </article>
</xsl:template>

<!-- "Thu, 21 Sep 2023 08:00:00 +0000" → "21 Sep 2023" -->
<xsl:template match="pubDate">
  <xsl:value-of select="substring(., 6, 11)"/>
</xsl:template>

<!-- "2023-09-21T08:00:00+00:00" → "2023-09-21" -->
<xsl:template match="atom:published">
  <xsl:value-of select="substring(., 1, 10)"/>
</xsl:template>

</xsl:stylesheet>
