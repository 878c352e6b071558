"""Prices are data: a TOML table of dollars per million tokens per model, with the date it was read.

The shipped table (sessions_app/prices.toml) is used unless the person gives their own: CHORUS_PRICES names a file,
else <data dir>/prices.toml when it exists. A file is read again when it changes; one that cannot be used is said in
one line naming the file and the problem, and the prices in force before stay.
"""

from __future__ import annotations

import datetime
import logging
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sessions_app.usage import Turn

log = logging.getLogger("chorus.usage")

SHIPPED = Path(__file__).with_name("prices.toml")


class PricesError(ValueError):
    """A prices file that cannot be used; the message is one line naming the file and the problem."""


@dataclass(frozen=True)
class ModelPrice:
    """Dollars per million tokens."""

    input: float
    output: float
    cache_read: float = 0.0
    cache_write: float = 0.0


@dataclass(frozen=True)
class Prices:
    date: datetime.date
    models: dict[str, ModelPrice]
    source: str = ""

    def price(self, model: str) -> ModelPrice | None:
        """The price of the longest name that starts `model` (a dated model id takes its family's price)."""
        names = [name for name in self.models if model.startswith(name)]
        return self.models[max(names, key=len)] if names else None

    def cost_micros(self, turn: Turn) -> int | None:
        """What `turn` cost in millionths of a dollar (tokens x dollars per million), None for an unpriced model."""
        price = self.price(turn.model)
        if price is None:
            return None
        return round(
            turn.input * price.input
            + turn.output * price.output
            + turn.cache_read * price.cache_read
            + turn.cache_write * price.cache_write
        )


def parse(path: Path) -> Prices:
    """The prices in `path`, validated (pydantic, imported here only: it costs every command time)."""
    from pydantic import BaseModel, ConfigDict, Field, ValidationError

    class PriceTable(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        input: float = Field(ge=0)
        output: float = Field(ge=0)
        cache_read: float = Field(default=0.0, ge=0)
        cache_write: float = Field(default=0.0, ge=0)

    class PricesFile(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        date: datetime.date
        currency: str = "USD"
        models: dict[str, PriceTable] = Field(min_length=1)

    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise PricesError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PricesError(f"{path}: not TOML ({exc})") from None
    try:
        table = PricesFile.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise PricesError(f"{path}: {where}: {error['msg']}") from None
    if table.currency != "USD":
        raise PricesError(f"{path}: currency: only USD is supported, not {table.currency!r}")
    models = {name: ModelPrice(**price.model_dump()) for name, price in table.models.items()}
    return Prices(table.date, models, str(path))


def prices_file(data_dir: Path, environ: dict[str, str] | None = None) -> Path:
    """The file that sets the prices: CHORUS_PRICES, else the data dir's prices.toml, else the shipped table."""
    environ = os.environ if environ is None else environ
    if environ.get("CHORUS_PRICES"):
        return Path(environ["CHORUS_PRICES"]).expanduser()
    own = data_dir / "prices.toml"
    return own if own.exists() else SHIPPED


class PriceBook:
    """The prices in force, read again when their file changes; a bad file leaves the previous prices in force."""

    def __init__(self, path: Path):
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._prices = parse(SHIPPED)
        self.problem = ""

    def current(self) -> Prices:
        try:
            info = os.stat(self.path)
            stamp = (info.st_mtime_ns, info.st_size)
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._prices, self.problem = parse(self.path), ""
            except PricesError as exc:
                self.problem = f"{exc}; the prices of {self._prices.date} stay in force"
                log.warning("%s", self.problem)
        return self._prices
