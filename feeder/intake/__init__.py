"""Intake: from a file in the inbox to a stored story. It watches the inbox, reads
each file's bytes into text (`decoding`), parses the agency's wire format (`wire`),
applies the story rules (`story`), decides which files to take (`inbox`) and stores
them a transaction per batch (`ingest`). Nothing here renders or serves anything."""
