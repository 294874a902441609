"""Write a synthetic corpus shaped like the upstream (smartable) one.

Usage: python benchmarks/make_corpus.py N DIR [--topics T]

Field mix and sizes follow the real files: ~2.7 KB of front matter with a
provider, 2-3 topics, one image, 0-8 related stories and an opaque `secured`
blob; about 40% are `published: false`, like upstream. Deterministic for a
given N (seeded), so runs are comparable.
"""

from __future__ import annotations

import argparse
import base64
import random
from pathlib import Path

OUTLETS = [("The New York Times", "nytimes.com"), ("TechCrunch", "techcrunch.com"),
           ("The Verge", "theverge.com"), ("Reuters", "reuters.com"), ("BBC News", "bbc.co.uk"),
           ("Wired", "wired.com"), ("ZDNet", "zdnet.com"), ("VentureBeat", "venturebeat.com")]
WORDS = ["algorithm", "bias", "privacy", "model", "data", "police", "face", "recognition", "regulation",
         "audit", "court", "workers", "health", "children", "deepfake", "surveillance", "ethics",
         "transparency", "consent"]


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


def article(rng: random.Random, n: int, topics: list[str]) -> tuple[str, str]:
    day = 1 + n % 28
    month = 1 + (n // 28) % 12
    year = 2015 + (n // 336) % 11
    slug = f"{year}-{month:02d}-{day:02d}-story-{n}"
    outlet, domain = rng.choice(OUTLETS)
    title = sentence(rng, rng.randint(6, 12))
    related = []
    for r in range(rng.choice([0, 0, 3, 5, 8])):
        o, d = rng.choice(OUTLETS)
        related.append(
            f'  - title: "{sentence(rng, 8)}"\n    excerpt: "{sentence(rng, 30)}"\n'
            f"    publishedDateTime: {year}-{month:02d}-{day:02d}T{r:02d}:15:00Z\n"
            f'    webUrl: "https://{d}/{year}/{n}/{r}"\n    type: article\n'
            f"    provider:\n      name: {o}\n      domain: {d}\n    quality: {rng.randint(1, 99)}\n")
    chosen = rng.sample(topics, k=min(len(topics), rng.choice([2, 2, 3])))
    secured = base64.b64encode(rng.randbytes(300)).decode()
    text = (
        f"---\ncategory: news\ntitle: \"{title}\"\nexcerpt: \"{sentence(rng, 40)}\"\n"
        f"publishedDateTime: {year}-{month:02d}-{day:02d}T{n % 24:02d}:{n % 60:02d}:00Z\n"
        f'originalUrl: "https://{domain}/{year}/{month:02d}/{n}"\n'
        f'webUrl: "https://{domain}/{year}/{month:02d}/{n}"\ntype: article\n'
        f"quality: {rng.randint(1, 99)}\nheat: {rng.randint(-1, 900)}\n"
        f"published: {'false' if rng.random() < 0.4 else 'true'}\n\n"
        f"provider:\n  name: {outlet}\n  domain: {domain}\n  images:\n"
        f'    - url: "https://img.example/{domain}-50x50.jpg"\n      width: 50\n      height: 50\n\n'
        "topics:\n" + "".join(f"  - {t}\n" for t in chosen) + "\n"
        f'images:\n  - url: "https://img.example/{n}.jpg"\n    width: 1200\n    height: 675\n'
        f'    isCached: true\n    title: "{title}"\n\n'
        + (("related:\n" + "".join(related) + "\n") if related else "")
        + f'secured: "{secured}"\n---\n'
    )
    return slug, text


def make_corpus(count: int, directory: Path, topic_count: int | None = None) -> Path:
    topic_count = topic_count or (15 if count <= 10_000 else 208)
    rng = random.Random(count)
    topics = [f"Topic {i} {rng.choice(WORDS).title()}" for i in range(topic_count)]
    directory.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        slug, text = article(rng, n, topics)
        (directory / f"{slug}.md").write_text(text, encoding="utf-8")
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--topics", type=int, default=None)
    args = parser.parse_args()
    make_corpus(args.count, args.directory, args.topics)
    print(f"wrote {args.count} articles to {args.directory}")


if __name__ == "__main__":
    main()
