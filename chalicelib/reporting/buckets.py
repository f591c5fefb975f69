"""Weeks, months and the whole range over daily counts, and which of them the K rule lets show.

A day whose count is below K is hidden (``"<K"``). Its week or month may reach K; the report
then shows that bucket, but only where nobody can work a hidden day out of it
(docs/statistics.md, "Weeks and months", has the reasoning):

- **Fixed buckets.** Weeks run Monday to Sunday and are cut at the end of a calendar month, so
  that each week lies inside one month; months are calendar months. A bucket is shown only when
  it lies wholly inside the report's range and is over (its last day before today), and whether
  it is shown depends on its own days only: every report that covers a bucket shows the same
  figure for it, and two reports cannot be set against each other.
- **Hidden part.** The hidden part of a bucket is its figure minus what is shown inside it
  (shown days; for a month, shown weeks and the shown days of the other weeks). Subtracting
  shown figures yields exactly this, so it must reach K.
- **Nothing narrowed.** A hidden day holds ``lo``..``K-1`` (``lo`` is 1 where a zero is shown
  as 0, else 0). A bucket is shown only if, once its hidden part is known, every hidden day
  inside could still hold any of those values, with a day's range to spare on both sides.
  Every shown figure is worked out on the assumption that the reader knows this rule and sees
  which buckets were withheld: withholding never narrows a hidden day either.
- A bucket that is not shown is written as a lower bound, ``">=N"`` (N = what is shown inside
  it), never ``"<K"``: its figure may well reach K, and an upper bound together with the days
  shown as 0 could pin its days.

Sets of possible values are Python ints used as bit sets (bit v set: v is possible).
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Bucket:
    """A fixed run of whole UTC days: a week (Monday start, cut at the month's end) or a month."""

    kind: str
    start: date
    end: date

    @property
    def days(self) -> list:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def describe(self) -> dict:
        """The bucket's place in the JSON report: ``{"from", "to"}`` (and ``"month"``)."""
        place = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        return place | ({"month": self.start.isoformat()[:7]} if self.kind == "month" else {})


def month_of(day: date) -> Bucket:
    last = calendar.monthrange(day.year, day.month)[1]
    return Bucket("month", day.replace(day=1), day.replace(day=last))


def weeks_of(month: Bucket) -> list:
    """The month's weeks: Monday to Sunday, the first and last cut at the month's edges."""
    weeks, start = [], month.start
    while start <= month.end:
        end = min(start + timedelta(days=6 - start.weekday()), month.end)
        weeks.append(Bucket("week", start, end))
        start = end + timedelta(days=1)
    return weeks


def whole_buckets(start: date, end: date, today: date) -> tuple:
    """(weeks, months) lying wholly inside [start, end] and over before ``today``."""
    weeks, months = [], []
    month = month_of(start)
    while month.start <= end:
        weeks += [w for w in weeks_of(month) if start <= w.start and w.end <= end and w.end < today]
        if start <= month.start and month.end <= end and month.end < today:
            months.append(month)
        month = month_of(month.end + timedelta(days=1))
    return weeks, months


# --- cells ---------------------------------------------------------------------------------------


def zero_shown(k: int) -> bool:
    """Whether a zero may be written 0. Not with K = 2: ``<2`` would then always mean 1."""
    return k != 2


def day_cell(count: int, k: int, zero: bool = True) -> int | str:
    """One day's figure as it may be shown: its value from K on, ``"<K"`` below, and 0 for a
    true zero when ``zero`` (a count of nobody names nobody) or when K is 1 (``"<1"`` could
    only mean 0)."""
    if count == 0 and (k <= 1 or zero and zero_shown(k)):
        return 0
    return f"<{k}" if count < k else count


def is_shown(cell) -> bool:
    return isinstance(cell, int)


def total(cells) -> int | str:
    """The sum of the shown cells; ``">=N"`` when any cell is hidden (a lower bound)."""
    cells = list(cells)
    if len(cells) == 1:  # a total of one cell is that cell, hidden or not
        return cells[0]
    shown, partial = 0, False
    for cell in cells:
        if isinstance(cell, int):
            shown += cell
        else:
            partial = True
            if cell.startswith(">="):  # a total of totals keeps what its parts showed
                shown += int(cell[2:])
    return f">={shown}" if partial else shown


# --- which buckets are shown ---------------------------------------------------------------------


def _interval(low: int, high: int) -> int:
    return ((1 << (high - low + 1)) - 1) << low if high >= low else 0


def _values(bits: int):
    while bits:
        lowest = bits & -bits
        yield lowest.bit_length() - 1
        bits ^= lowest


def _sumset(a: int, b: int) -> int:
    """Every x + y with x possible in ``a`` and y in ``b``."""
    if a.bit_count() > b.bit_count():
        a, b = b, a
    out = 0
    for x in _values(a):
        out |= b << x
    return out


def _week_reveals(hidden: int, n: int, k: int, lo: int, hi: int) -> bool:
    """Whether a week may show a hidden part of ``hidden`` over ``n`` hidden days: it reaches
    K, and each hidden day could still be ``lo`` (the others holding the rest) or ``hi``,
    with one to spare on both sides."""
    return hidden >= k and hi + (n - 1) * lo < hidden < lo + (n - 1) * hi


@dataclass
class _Part:
    """A week as its month sees it: shown, or its hidden days and their possible sums."""

    cell: int | str
    shown_inside: int = 0
    hidden_days: int = 0
    possible: int = 0          # bit set of the hidden part's possible values, seen from outside


def _week(counts: list, cells: list, k: int, lo: int, hi: int) -> _Part:
    shown_inside = sum(c for c in cells if is_shown(c))
    n = sum(1 for c in cells if not is_shown(c))
    hidden = sum(counts) - shown_inside
    if n == 0 or _week_reveals(hidden, n, k, lo, hi):
        return _Part(sum(counts))
    # Withheld: a reader who knows the rule learns that the hidden part is one of these.
    possible = 0
    for value in range(n * lo, n * hi + 1):
        if not _week_reveals(value, n, k, lo, hi):
            possible |= 1 << value
    return _Part(f">={shown_inside}", shown_inside, n, possible)


def _month_reveals(hidden: int, weeks: list, k: int, lo: int, hi: int) -> bool:
    """Whether a month may show a hidden part of ``hidden`` spread over the withheld ``weeks``:
    it reaches K, lies more than a day's range from both ends of what it could be, and with
    it known every hidden day could still hold any value from ``lo`` to ``hi`` and no group
    of those weeks is left hiding one number below K."""
    least = sum(min(_values(w.possible)) for w in weeks)
    most = sum(w.possible.bit_length() - 1 for w in weeks)
    if hidden < k or not least + (hi - lo) < hidden < most - (hi - lo):
        return False
    # What each group of weeks (a bit mask over ``weeks``) can add up to; a month has at most
    # six weeks, so at most 64 groups.
    sums = [1] * (1 << len(weeks))
    for group in range(1, len(sums)):
        first = (group & -group).bit_length() - 1
        sums[group] = _sumset(sums[group ^ (1 << first)], weeks[first].possible)
    every = len(sums) - 1

    def left(group):  # the group's sums that the rest of the month can complete to ``hidden``
        rest = sums[every ^ group] & _interval(0, hidden)
        mirrored = int(f"{rest:0{hidden + 1}b}"[::-1], 2)  # bit v: hidden - v possible
        return sums[group] & mirrored

    for group in range(1, every):
        sums_ = left(group)
        if sums_.bit_count() == 1 and 0 < sums_.bit_length() - 1 < k:
            return False
    every_day = _interval(lo, hi)
    for i, w in enumerate(weeks):
        days = 0
        for v in _values(left(1 << i)):
            days |= _interval(max(lo, v - (w.hidden_days - 1) * hi),
                              min(hi, v - (w.hidden_days - 1) * lo))
            if days & every_day == every_day:
                break
        else:
            return False
    return True


def _month(counts: list, parts: list, k: int, lo: int, hi: int) -> int | str:
    withheld = [p for p in parts if not is_shown(p.cell) and p.hidden_days]
    shown_inside = sum(p.cell if is_shown(p.cell) else p.shown_inside for p in parts)
    hidden = sum(counts) - shown_inside
    if not withheld or _month_reveals(hidden, withheld, k, lo, hi):
        return sum(counts)
    return f">={shown_inside}"


@dataclass
class Figure:
    """One figure over a report's range: a cell per day, per week, per month, and the total."""

    days: list
    weeks: list
    months: list
    total: int | str


@dataclass
class Calendar:
    """A report's days and the whole weeks and months among them."""

    days: list
    weeks: list
    months: list

    @classmethod
    def of(cls, start: date, end: date, today: date) -> Calendar:
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        return cls(days, *whole_buckets(start, end, today))

    def figure(self, counts: list, k: int, *, cells: list | None = None,
               lo: int | None = None) -> Figure:
        """``counts`` (one per day) under the K rule: ``cells`` are the days as shown
        (default: ``day_cell``), ``lo`` the least value of a hidden day (default 1 where
        zeros are shown, else 0)."""
        cells = [day_cell(c, k) for c in counts] if cells is None else cells
        lo = (1 if zero_shown(k) else 0) if lo is None else lo
        hi = k - 1
        for count, cell in zip(counts, cells):
            if not is_shown(cell) and not lo <= count <= hi:
                raise ValueError(f"a hidden day holds {lo}..{hi}, not {count}")
        at = {day: i for i, day in enumerate(self.days)}

        def of(bucket):
            index = [at[day] for day in bucket.days]
            return [counts[i] for i in index], [cells[i] for i in index]

        parts = {w: _week(*of(w), k, lo, hi) for w in self.weeks}
        months = [_month(of(m)[0], [parts[w] for w in weeks_of(m)], k, lo, hi)
                  for m in self.months]
        weeks = [parts[w].cell for w in self.weeks]
        return Figure(cells, weeks, months, total(self.cover(cells, weeks, months)))

    def cover(self, day_cells: list, week_cells: list, month_cells: list, shown=is_shown,
              within: Bucket | None = None) -> list:
        """The cells that make up the whole range (or the bucket ``within``): each shown
        month, else each shown week in it, else each day. Their sum adds nothing a reader
        could not add up."""
        first, last = (self.days[0], self.days[-1]) if within is None else (within.start,
                                                                             within.end)
        taken, parts = set(), []
        for buckets, cells in ((self.months, month_cells), (self.weeks, week_cells)):
            for bucket, cell in zip(buckets, cells):
                if (first <= bucket.start and bucket.end <= last and shown(cell)
                        and bucket.start not in taken):
                    parts.append(cell)
                    taken.update(bucket.days)
        return parts + [cell for day, cell in zip(self.days, day_cells)
                        if first <= day <= last and day not in taken]

    def combined(self, figures: list) -> Figure:
        """Several figures added cell by cell (all ads, say): shown cells only, as totals."""
        if not figures:
            return Figure([0] * len(self.days), [0] * len(self.weeks), [0] * len(self.months), 0)
        return Figure(*(
            [total(f.days[i] for f in figures) for i in range(len(self.days))],
            [total(f.weeks[i] for f in figures) for i in range(len(self.weeks))],
            [total(f.months[i] for f in figures) for i in range(len(self.months))],
            total(f.total for f in figures)))
