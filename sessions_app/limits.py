"""Usage limits: an agent that hit its plan's limit says so on screen ("limit reached · resets 3pm"); it is then
waiting, with the reset time as its reason, until the reset plus a margin, when Chorus types its continue message.

A profile's `limits` are data (LimitRule: a regular expression whose group `reset` is the reset text); parsing the
reset text is pure (`parse_reset`). `LimitWatch` is what the worker asks once per look at a session: it turns the
verdict of a screen that shows a limit into waiting while the limit holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sessions_app.screen import screen_lines

# the verdict's signal kind, so a reason and the log say a limit decided
SIGNAL = "usage_limit"

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DURATION = re.compile(
    r"\bin\s+(?=\d)(?:(?P<d>\d+)\s*d(?:ays?)?\s*)?(?:(?P<h>\d+)\s*h(?:(?:ou)?rs?)?\s*)?"
    r"(?:(?P<m>\d+)\s*m(?:in(?:ute)?s?)?\s*)?(?:(?P<s>\d+)\s*s(?:ec(?:ond)?s?)?)?",
    re.IGNORECASE,
)
_CLOCK = re.compile(
    r"(?<![\d:])(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>[ap])\.?\s?m\b\.?"
    r"|(?<![\d:])(?P<hour24>\d{1,2}):(?P<minute24>\d{2})(?![\d:])",
    re.IGNORECASE,
)
_MONTH_DAY = re.compile(
    r"\b(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\b"
    r"(?:,?\s+(?P<year>\d{4})\b)?",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b")
# A reset given as a Unix time, the whole text (an API's own words, "usage limit reached|1796235600", as they came)
_EPOCH = re.compile(r"^\s*(?P<epoch>\d{9,11})\s*$")
_ZONE = re.compile(r"\(?\b(?P<zone>UTC|GMT|[A-Z][A-Za-z_]+/[A-Za-z_]+(?:/[A-Za-z_]+)?)\b\)?")


@dataclass(frozen=True)
class LimitRule:
    """A screen that says the agent hit its usage limit: `pattern` (searched in the last `lines` non-blank lines,
    case ignored: a full-screen renderer keeps blank rows between its transcript and its input box; the built-in
    patterns start at a line's start, so a reply that quotes a notice mid-sentence is none) with a named group
    `reset` holding when it resets, if the agent says. `words`: the pattern is tried only on text holding one of
    them (lower case), as the worker asks this of every screen that changed and a search costs more than a look.
    `resumes`: a pattern which, found in the same lines, says the agent goes on by itself at the reset ("Continuing
    automatically at 6:22pm"): Chorus then parks it until the reset and types nothing."""

    name: str
    pattern: str
    lines: int = 10
    words: tuple[str, ...] = ()
    resumes: str = ""
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    resumes_regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a limit rule needs a name: the reason names it")
        object.__setattr__(self, "words", tuple(word.lower() for word in self.words))
        try:
            object.__setattr__(self, "regex", re.compile(self.pattern, re.IGNORECASE | re.MULTILINE))
        except re.error as exc:
            raise ValueError(f"limit pattern is not a valid regular expression: {exc}") from None
        try:
            resumes = re.compile(self.resumes, re.IGNORECASE | re.MULTILINE) if self.resumes else None
        except re.error as exc:
            raise ValueError(f"limit resumes pattern is not a valid regular expression: {exc}") from None
        object.__setattr__(self, "resumes_regex", resumes)


@dataclass(frozen=True)
class LimitSeen:
    """A limit on screen: the rule, the line that said it, and its reset (None: the text could not be parsed);
    `resumes_itself`: the agent said it goes on by itself at the reset."""

    rule: str
    text: str
    until: datetime | None
    resumes_itself: bool = False


def find_limit(rules: tuple[LimitRule, ...], screen: str, now: datetime, zone: tzinfo) -> LimitSeen | None:
    """The first of `rules` that the screen's bottom lines show, with its reset time parsed."""
    if not rules:
        return None
    lines = _last_lines(screen, max(rule.lines for rule in rules))
    for rule in rules:
        text = "\n".join(lines[-rule.lines :])
        if rule.words and not any(word in text.lower() for word in rule.words):
            continue
        match = rule.regex.search(text)
        if match is None:
            continue
        line_start = match.string.rfind("\n", 0, match.start()) + 1
        line_end = match.string.find("\n", match.end())
        text = " ".join(match.string[line_start : line_end if line_end >= 0 else None].split())
        reset = match.groupdict().get("reset")
        until = parse_reset(reset, now, zone) if reset else None
        itself = until is not None and rule.resumes_regex is not None and bool(rule.resumes_regex.search(match.string))
        return LimitSeen(rule.name, text[:300], until, itself)
    return None


def _last_lines(screen: str, count: int) -> list[str]:
    """The screen's last `count` non-blank lines as rules see them; only those are cut and cleaned, as the worker
    asks this of every screen that changed."""
    tail: list[str] = []
    for raw in reversed(screen.split("\n")):
        if raw.strip():
            tail.append(raw)
            if len(tail) == count:
                break
    return [line for line in screen_lines("\n".join(reversed(tail))) if line.strip()]


def parse_reset(text: str, now: datetime, zone: tzinfo) -> datetime | None:
    """When a limit resets, from what the agent printed: a duration ("in 2h 13m", "in 45 minutes"), or a clock
    time (3pm, 3:00 PM, 15:00) with an optional date ("May 5 at 9pm", "Dec 29th, 2025 10:15 PM", 2026-12-03) and
    time zone ("(Europe/Paris)", UTC; else `zone`). A clock time without a date is its next occurrence after
    `now`; a date without a year is this year's, or next year's once it is over; a bare Unix time is that moment.
    None when nothing says when."""
    epoch = _EPOCH.match(text)
    if epoch:
        return datetime.fromtimestamp(int(epoch["epoch"]), UTC)
    duration = _DURATION.search(text)
    if duration and any(duration.groupdict().values()):
        parts = {key: int(value or 0) for key, value in duration.groupdict().items()}
        return now + timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
    clock = _CLOCK.search(text)
    if clock is None:
        return None
    moment = _clock_time(clock)
    if moment is None:
        return None
    place = _zone(text) or zone
    local_now = now.astimezone(place)
    try:
        day = _date(text, local_now.date())
    except ValueError:  # a date that is none (Feb 30)
        return None
    if day is None:
        candidate = datetime.combine(local_now.date(), moment, place)
        if candidate <= local_now:
            candidate = datetime.combine(local_now.date() + timedelta(days=1), moment, place)
        return candidate.astimezone(UTC)
    return datetime.combine(day, moment, place).astimezone(UTC)


def _clock_time(clock: re.Match[str]) -> time | None:
    if clock["hour24"] is not None:
        hour, minute = int(clock["hour24"]), int(clock["minute24"])
    else:
        hour, minute = int(clock["hour"]), int(clock["minute"] or 0)
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if clock["ampm"].lower() == "p" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _zone(text: str) -> tzinfo | None:
    for match in _ZONE.finditer(text):
        try:
            return ZoneInfo("UTC" if match["zone"] == "GMT" else match["zone"])
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return None


def _date(text: str, today: date) -> date | None:
    """The date `text` names (None: it names none); ValueError when it names one that does not exist."""
    iso = _ISO_DATE.search(text)
    if iso:
        return date(int(iso["year"]), int(iso["month"]), int(iso["day"]))
    named = _MONTH_DAY.search(text)
    if named is None:
        return None
    month, day = _MONTHS.index(named["month"][:3].lower()) + 1, int(named["day"])
    if named["year"]:
        return date(int(named["year"]), month, day)
    candidate = date(today.year, month, day)
    return candidate if candidate >= today else date(today.year + 1, month, day)


def reason(seen: LimitSeen, zone: tzinfo, now: datetime) -> str:
    """`usage limit until 15:00` (with its date when not today, in Chorus's zone), or the agent's own words when
    its reset could not be read."""
    if seen.until is None:
        return f"usage limit: {seen.text}"
    local = seen.until.astimezone(zone)
    shown = f"{local:%H:%M}" if local.date() == now.astimezone(zone).date() else f"{local:%Y-%m-%d %H:%M}"
    return f"usage limit until {shown}"


# a screen no look has: what a cached search is keyed by when it must be done again
_UNSEEN = object()


class LimitWatch:
    """What the worker asks of each look: the verdict, or waiting while the screen shows a limit that holds.

    A limit's line stays on screen after the reset (and the continue message) until it scrolls away, and "resets
    3pm" read again after 3pm would mean tomorrow: so a line already resolved keeps its first reading while it is
    on screen, and the one the read model recorded (UsageLimitReached) survives a worker restart."""

    def __init__(self, margin: timedelta, zone: tzinfo):
        self.margin = margin
        self.zone = zone
        # by session: (the screen last searched, what it showed)
        self._seen: dict[str, tuple[object, LimitSeen | None]] = {}
        # by session: the limit line it was seen working after (its limit is over)
        self._over: dict[str, str] = {}
        # by session: what the agent's self-report said of its last failed request (a hook's error), since
        self._heard: dict[str, str] = {}

    def overrule(self, session, profile, screen: str, verdict):
        if not profile.limits:
            return verdict
        now = datetime.now(UTC)
        seen = self.seen(session, profile, screen, now)
        if seen is None or (seen.until is not None and self.over(session.name, seen, verdict, now)):
            return verdict
        return replace(
            verdict,
            status=type(verdict.status).WAITING,
            reason=reason(seen, self.zone, now),
            rule=seen.rule,
            signal=SIGNAL,
            text=seen.text,
            asked="",
        )

    def over(self, name: str, seen: LimitSeen, verdict, now: datetime) -> bool:
        """Whether a readable limit no longer holds: past its reset plus the margin (when Chorus's continue message
        is queued), or once the agent works again after its reset (it went on by itself, or a person asked it to;
        its line may stay on screen after that turn, which does not park it again)."""
        if now >= seen.until + self.margin or self._over.get(name) == seen.text:
            return True
        if now >= seen.until and verdict.status is type(verdict.status).BUSY:
            self._over[name] = seen.text
            return True
        return False

    def seen(self, session, profile, screen: str, now: datetime) -> LimitSeen | None:
        """The limit the session's screen shows (searched again only when the screen changed)."""
        cached = self._seen.get(session.name)
        if cached is not None and cached[0] is screen:
            return cached[1]
        found = find_limit(profile.limits, screen, now, self.zone)
        if found is None and session.name in self._heard:
            # the screen says it in words the rules do not know (a new version): the agent's own report does
            found = find_limit(profile.limits, self._heard[session.name], now, self.zone)
        if found is not None:
            previous = cached[1] if cached is not None else None
            if previous is not None and previous.text == found.text:
                found = previous
            elif session.limit_text == found.text:
                found = replace(found, until=session.limit_until)
        self._seen[session.name] = (screen, found)
        return found

    def hear(self, name: str, text: str) -> None:
        """What the agent's self-report said of a request that failed (a hook's "You've hit your 5-hour limit ·
        resets 6:46pm (UTC)"), read with the same rules when the screen shows no limit; "" when it took a new
        prompt, which ends what was said."""
        if text:
            self._heard[name] = text
        elif self._heard.pop(name, None) is None:
            return
        cached = self._seen.get(name)
        if cached is not None:
            self._seen[name] = (_UNSEEN, cached[1])  # searched again at the next look

    def current(self, name: str) -> LimitSeen | None:
        cached = self._seen.get(name)
        return cached[1] if cached is not None else None

    def forget(self, name: str) -> None:
        self._seen.pop(name, None)
        self._over.pop(name, None)
        self._heard.pop(name, None)


def due(sessions, now: datetime) -> list:
    """The sessions whose resume after a usage limit is due."""
    return [session for session in sessions if session.resume_at is not None and session.resume_at <= now]
