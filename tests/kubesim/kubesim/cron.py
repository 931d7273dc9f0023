"""Standard five-field cron schedules, as CronJobs read them (the robfig/cron standard parser Kubernetes uses).

``minute hour day-of-month month day-of-week``, each ``*`` (or ``?`` for the days), a number, a range
``a-b``, a step ``*/n`` or ``a-b/n`` or ``a/n``, or a comma-separated list of those; months and days
of the week may be named (``JAN``, ``MON``); the macros ``@yearly`` (``@annually``), ``@monthly``,
``@weekly``, ``@daily`` (``@midnight``) and ``@hourly``. When both day fields are restricted a
day matching either runs, as in cron.
"""

import datetime
from dataclasses import dataclass

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (minimum, maximum, names) per field
_FIELDS = ((0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, {name: index + 1 for index, name in enumerate(_MONTHS)}),
           (0, 6, {name: index for index, name in enumerate(_DAYS)}))
_MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0", "@daily": "0 0 * * *",
           "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
# robfig/cron gives up looking for a next time this far ahead.
_SEARCH_YEARS = 5


class CronError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset
    hours: frozenset
    days: frozenset
    months: frozenset
    weekdays: frozenset
    any_day: bool  # the day-of-month field was * or ?
    any_weekday: bool

    def day_matches(self, moment):
        in_month, in_week = moment.day in self.days, (moment.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week

    def next_after(self, moment):
        """The first scheduled minute strictly after ``moment`` (an aware datetime, in the schedule's zone), or None."""
        candidate = moment.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
        limit = moment + datetime.timedelta(days=366 * _SEARCH_YEARS)
        while candidate <= limit:
            if candidate.month not in self.months:
                month_start = candidate.replace(day=1, hour=0, minute=0)
                candidate = (month_start + datetime.timedelta(days=32)).replace(day=1)
            elif not self.day_matches(candidate):
                candidate = candidate.replace(hour=0, minute=0) + datetime.timedelta(days=1)
            elif candidate.hour not in self.hours:
                candidate = candidate.replace(minute=0) + datetime.timedelta(hours=1)
            elif candidate.minute not in self.minutes:
                candidate += datetime.timedelta(minutes=1)
            else:
                return candidate
        return None


def _number(text, names):
    if text.upper() in names:
        return names[text.upper()]
    try:
        return int(text)
    except ValueError as exc:
        raise CronError(f"failed to parse int from {text}: strconv.Atoi: parsing \"{text}\": invalid syntax") from exc


def _range(expression, minimum, maximum, names):
    """The values one comma-separated part of a field stands for, and whether it was a star."""
    span, _, step_text = expression.partition("/")
    star = span in ("*", "?")
    if star:
        low, high = minimum, maximum
    else:
        low_text, dash, high_text = span.partition("-")
        low = _number(low_text, names)
        high = _number(high_text, names) if dash else (maximum if step_text else low)
    step = _number(step_text, {}) if step_text else 1
    if low < minimum:
        raise CronError(f"beginning of range ({low}) below minimum ({minimum}): {expression}")
    if high > maximum:
        raise CronError(f"end of range ({high}) above maximum ({maximum}): {expression}")
    if low > high:
        raise CronError(f"beginning of range ({low}) beyond end of range ({high}): {expression}")
    if step <= 0:
        raise CronError(f"step of range should be a positive number: {expression}")
    return set(range(low, high + 1, step)), star and step == 1


def _field(text, minimum, maximum, names):
    values, star = set(), False
    for part in text.split(","):
        part_values, part_star = _range(part, minimum, maximum, names)
        values |= part_values
        star = star or part_star
    return frozenset(values), star


def parse(text):
    """The Schedule of a cron expression; CronError with the parser's wording if it is not one."""
    spec = (text or "").strip()
    if spec.startswith("@"):
        if spec not in _MACROS:
            raise CronError(f"unrecognized descriptor: {spec}")
        spec = _MACROS[spec]
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    parsed = [_field(field, *_FIELDS[index]) for index, field in enumerate(fields)]
    (minutes, _), (hours, _), (days, any_day), (months, _), (weekdays, any_weekday) = parsed
    return Schedule(minutes, hours, days, months, weekdays, any_day, any_weekday)
