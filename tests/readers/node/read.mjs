// Read feeds with the two Node libraries most readers and bots are built on,
// and print what each one extracted per item, as JSON on stdout.
//
// stdin:  [{"url": "http://127.0.0.1:…/feeds/all.atom", "format": "atom"}, …]
// stdout: [{"library", "url", "format", "error", "items": [{id, link, title, date, author, images, content}]}]
//
// rss-parser is used with its defaults (what an app built on it shows);
// feed-extractor with `normalization: true` (its link, id, title and date)
// plus `getExtraEntryFields` for what it only exposes raw: the author and the
// image (enclosure, Atom rel="enclosure" link, media:content/thumbnail, JSON image).
import Parser from 'rss-parser'
import { extract } from '@extractus/feed-extractor'

const readStdin = async () => {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

const asArray = (value) => (value === undefined || value === null ? [] : Array.isArray(value) ? value : [value])
const text = (value) => {
  if (value === undefined || value === null) return null
  if (typeof value === 'object') return text(value['#text'] ?? value.name ?? null)
  return String(value).trim() || null
}

const rssParser = new Parser({ timeout: 30000 })

const readRssParser = async (url) => {
  const feed = await rssParser.parseURL(url)
  return feed.items.map((item) => ({
    id: item.guid ?? item.id ?? null,
    link: item.link ?? null,
    title: item.title ?? null,
    date: item.isoDate ?? item.pubDate ?? null,
    author: item.creator ?? item.author ?? null,
    images: item.enclosure && item.enclosure.url ? [item.enclosure.url] : [],
    content: item['content:encoded'] ?? item.content ?? null,
  }))
}

// Every media:content / media:thumbnail url anywhere under a raw entry (inside media:group or not).
const mediaUrls = (node, found = []) => {
  if (!node || typeof node !== 'object') return found
  for (const [key, value] of Object.entries(node)) {
    for (const element of asArray(value)) {
      if ((key === 'media:content' || key === 'media:thumbnail') && element && element['@_url']) {
        found.push(element['@_url'])
      } else if (typeof element === 'object') {
        mediaUrls(element, found)
      }
    }
  }
  return found
}

const extraEntryFields = (raw) => {
  const images = []
  for (const enclosure of asArray(raw.enclosure)) if (enclosure && enclosure['@_url']) images.push(enclosure['@_url'])
  for (const link of asArray(raw.link)) {
    if (link && typeof link === 'object' && link['@_rel'] === 'enclosure' && link['@_href']) images.push(link['@_href'])
  }
  images.push(...mediaUrls(raw))
  if (typeof raw.image === 'string') images.push(raw.image)
  if (typeof raw.banner_image === 'string') images.push(raw.banner_image)
  for (const attachment of asArray(raw.attachments)) {
    if (attachment && String(attachment.mime_type || '').startsWith('image/')) images.push(attachment.url)
  }
  const author = text(raw['dc:creator']) ?? text(asArray(raw.author)[0]) ?? text(asArray(raw.authors)[0])
  // the body as published (the normalised description is plain text, without its links)
  const content = text(raw['content:encoded']) ?? text(raw.content) ?? text(raw.content_html) ?? text(raw.description)
  return { author, images, body: content }
}

const readFeedExtractor = async (url) => {
  const feed = await extract(url, {
    normalization: true,
    descriptionMaxLen: 0,
    getExtraEntryFields: extraEntryFields,
  })
  return (feed.entries || []).map((entry) => ({
    id: entry.id ?? null,
    link: entry.link ?? null,
    title: entry.title ?? null,
    date: entry.published ?? null,
    author: entry.author ?? null,
    images: entry.images ?? [],
    content: entry.body ?? null,
  }))
}

const LIBRARIES = {
  'rss-parser': { formats: ['rss', 'atom'], read: readRssParser },
  'feed-extractor': { formats: ['rss', 'atom', 'json'], read: readFeedExtractor },
}

const main = async () => {
  const feeds = await readStdin()
  const results = []
  for (const { url, format } of feeds) {
    for (const [library, { formats, read }] of Object.entries(LIBRARIES)) {
      if (!formats.includes(format)) continue
      try {
        results.push({ library, url, format, error: null, items: await read(url) })
      } catch (error) {
        results.push({ library, url, format, error: String(error && error.message ? error.message : error), items: [] })
      }
    }
  }
  process.stdout.write(JSON.stringify(results))
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
