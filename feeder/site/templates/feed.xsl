<?xml version="1.0" encoding="UTF-8"?>
<!--
  Shows a feed as a page in a browser that still runs XSLT, when the feed is
  served by a static server without feeder's negotiation (docs/serving.md);
  feed readers ignore it. One stylesheet serves both formats: every value is
  selected as the union of its RSS 2.0 and its Atom 1.0 element. Text is copied
  with value-of, so nothing in a feed can become markup here. It shows no
  dates: XSLT 1.0 cannot put a UTC time into the site's time zone, and the
  page it links to shows them.
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
  </style>
  </head>
  <body>
  <main>
  <h1><xsl:value-of select="title | atom:title"/></h1>
  <section class="subscribe">
  <p>{{ _("A feed brings every new story to your feed reader as soon as it is published. Copy an address into the reader:") }}
    <code><xsl:value-of select="$self"/></code></p>
  <p><a href="{link | atom:link[not(@rel) or @rel='alternate']/@href}">{{ _("The page of these news, with dates and the archive") }}</a></p>
  </section>
  <ol class="headlines">
  <xsl:apply-templates select="item | atom:entry"/>
  </ol>
  </main>
  </body>
  </html>
</xsl:template>

<xsl:template match="item | atom:entry">
  <li>
  <h3><a href="{link | atom:link[not(@rel) or @rel='alternate']/@href}"><xsl:value-of select="title | atom:title"/></a></h3>
  <p><xsl:value-of select="description | atom:summary"/></p>
  </li>
</xsl:template>

</xsl:stylesheet>
