<?xml version="1.0" encoding="UTF-8"?>
<!-- Renders RSS 2.0 and Atom 1.0 feeds as a readable page when opened in a browser.
     Feed readers ignore it. The same view exists as plain HTML: the topic page. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:atom="http://www.w3.org/2005/Atom" exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="UTF-8" indent="no"/>

  <xsl:template match="/">
    <xsl:variable name="title" select="/rss/channel/title | /atom:feed/atom:title"/>
    <xsl:variable name="self" select="/rss/channel/atom:link[@rel='self']/@href | /atom:feed/atom:link[@rel='self']/@href"/>
    <xsl:variable name="page" select="/rss/channel/link | /atom:feed/atom:link[@rel='alternate']/@href"/>
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/> (feed)</title>
        <style>
          body { font: 1rem/1.55 system-ui, sans-serif; max-width: 52rem; margin: 0 auto; padding: 1rem; }
          .note { background: #fff6d6; color: #222; border: 1px solid #e5d38a; padding: .75rem 1rem; border-radius: 6px; }
          code { font: .9rem ui-monospace, monospace; word-break: break-all; }
          ul { list-style: none; padding: 0; } li { padding: .6rem 0; border-bottom: 1px solid #ddd; }
          time { color: #666; font-size: .9rem; }
        </style>
      </head>
      <body>
        <div class="note" id="subscribe">
          <h1><xsl:value-of select="$title"/></h1>
          <p>This is a <strong>news feed</strong>. To subscribe, copy this address into your feed
          reader (Feedly, NetNewsWire, Miniflux, newsboat, Thunderbird…):</p>
          <p><code><xsl:value-of select="$self"/></code></p>
          <p><a href="{$page}">View these articles as a web page</a></p>
        </div>
        <p><xsl:value-of select="/rss/channel/description | /atom:feed/atom:subtitle"/></p>
        <ul>
          <xsl:for-each select="/rss/channel/item">
            <li><a href="{link}"><xsl:value-of select="title"/></a><br/>
              <time><xsl:value-of select="pubDate"/></time></li>
          </xsl:for-each>
          <xsl:for-each select="/atom:feed/atom:entry">
            <li><a href="{atom:link[not(@rel) or @rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a><br/>
              <time><xsl:value-of select="atom:published"/></time></li>
          </xsl:for-each>
        </ul>
      </body>
    </html>
  </xsl:template>
</xsl:stylesheet>
