"""RSS and Atom feeds from user-given URLs, polled in a worker thread of the news program.

Each poll fetches every URL with a timeout and a size cap (conditional GET: ETag and
Last-Modified, so an unchanged feed costs a 304), parses it leniently with ``feedparser`` (a
malformed feed still yields what it can; one that yields nothing is reported, never raised),
and turns entry titles into headlines stamped with the time *we* received them. Entries the
feed says were published longer ago than ``max_age`` are skipped: a feed's backlog on the first
poll is old news. The source name is ``rss:<host>``; duplicates are dropped where they are
stored (``news_store.store_if_new``).
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import http.client
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import feedparser

from bot.ports import HeadlineSink, ProblemSink, wall_clock_utc
from shared.domain.news import Headline, clean_headline

logger = logging.getLogger(__name__)

USER_AGENT = "MyTrader-news/1.0 (+feedparser)"
_TAG = re.compile(r"<[^>]+>")


@dataclass(slots=True)
class FeedState:
    """What we remember of one feed between polls."""

    etag: str = ""
    modified: str = ""
    last_problem: str = ""


@dataclass(frozen=True, slots=True)
class PollResult:
    """Headlines found by one poll of every feed, and one line per feed that failed."""

    headlines: list[Headline]
    problems: list[str] = field(default_factory=list)


def source_name(url: str) -> str:
    """``rss:<host>`` for a feed URL."""
    return f"rss:{urlsplit(url).hostname or url}"


def _published(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def parse_feed(url: str, body: bytes, received_at: datetime, max_age: timedelta
               ) -> tuple[list[Headline], str]:
    """Headlines from a feed document, and a problem line ('' when it parsed cleanly)."""
    parsed = feedparser.parse(body)
    problem = ""
    if parsed.get("bozo"):
        problem = f"malformed feed: {parsed.get('bozo_exception')}"
    headlines = []
    for entry in parsed.get("entries", []):
        title = clean_headline(_TAG.sub(" ", str(entry.get("title") or "")))
        if not title:
            continue
        published = _published(entry)
        if published is not None and received_at - published > max_age:
            continue
        headlines.append(Headline(source_name(url), title, received_at, published,
                                  str(entry.get("link") or "")[:1000]))
    if problem and not parsed.get("entries"):
        return [], problem
    return headlines, problem


class RssPoller:
    """Polls a list of feed URLs; one poll is a blocking call (run it in a thread)."""

    name = "rss"

    def __init__(self, urls: list[str], poll_s: float, timeout_s: float, max_bytes: int,
                 max_age: timedelta, clock: Callable[[], datetime] = wall_clock_utc) -> None:
        self.urls = list(urls)
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.clock = clock
        self.states = {url: FeedState() for url in self.urls}

    def fetch(self, url: str) -> bytes | None:
        """The feed body, or None when unchanged (304); raises OSError/ValueError on failure."""
        state = self.states[url]
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        if state.etag:
            request.add_header("If-None-Match", state.etag)
        if state.modified:
            request.add_header("If-Modified-Since", state.modified)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                body = response.read(self.max_bytes + 1)
                headers = response.headers
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return None
            raise OSError(f"HTTP {exc.code} {exc.reason}") from None
        if len(body) > self.max_bytes:
            raise ValueError(f"larger than {self.max_bytes} bytes")
        state.etag = headers.get("ETag", "") or ""
        state.modified = headers.get("Last-Modified", "") or ""
        return body

    def poll_feed(self, url: str) -> tuple[list[Headline], str]:
        """Fetch and parse one feed; a failure becomes a problem line, never an exception."""
        try:
            body = self.fetch(url)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            return [], f"{url}: {exc or type(exc).__name__}"
        if body is None:
            return [], ""
        headlines, problem = parse_feed(url, body, self.clock(), self.max_age)
        return headlines, f"{url}: {problem}" if problem else ""

    def _note(self, url: str, problem: str) -> bool:
        """Remember a feed's problem; True when it is new (worth a warning and an event)."""
        state = self.states[url]
        new = bool(problem) and problem != state.last_problem
        if new:
            logger.warning("feed problem: %s", problem)
        state.last_problem = problem
        return new

    def poll_once(self) -> PollResult:
        """Poll every feed once."""
        found: list[Headline] = []
        problems: list[str] = []
        for url in self.urls:
            headlines, problem = self.poll_feed(url)
            found.extend(headlines)
            self._note(url, problem)
            if problem:
                problems.append(problem)
        return PollResult(found, problems)

    async def run(self, emit: HeadlineSink, report: ProblemSink, stop: asyncio.Event) -> None:
        """Poll every ``poll_s`` seconds until ``stop`` is set, one feed at a time in a thread
        (so a stop waits for at most one request)."""
        while not stop.is_set():
            for url in self.urls:
                if stop.is_set():
                    return
                try:
                    headlines, problem = await asyncio.to_thread(self.poll_feed, url)
                except Exception as exc:  # a bad feed must not end the source
                    logger.exception("feed %s failed", url)
                    headlines, problem = [], f"{url}: {type(exc).__name__}: {exc}"
                if headlines:
                    emit(headlines)
                if self._note(url, problem):
                    report(source_name(url), problem)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_s)
