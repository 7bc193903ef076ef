// Dates in the hub's time zone (Asia/Ho_Chi_Minh, UTC+7 all year: no daylight saving), whatever the
// browser's own zone is, and the week/month grid shared by the duty roster and the events calendar.

import {el, fmt, gettext} from "./util.js";

export const OFFSET = "+07:00";
const OFFSET_MS = 7 * 3600 * 1000;

/** "YYYY-MM-DD" of a Date (or ISO string) in the hub's zone. */
export function dayOf(value) {
  const d = new Date(typeof value === "string" ? value : value.getTime());
  return new Date(d.getTime() + OFFSET_MS).toISOString().slice(0, 10);
}

/** "HH:MM" in the hub's zone. */
export function timeOf(value) {
  return new Date(new Date(value).getTime() + OFFSET_MS).toISOString().slice(11, 16);
}

/** "YYYY-MM-DDTHH:MM" (a datetime-local input's value) in the hub's zone. */
export function inputValue(value) {
  return new Date(new Date(value).getTime() + OFFSET_MS).toISOString().slice(0, 16);
}

/** A datetime-local input's value → ISO 8601 with the hub's offset. */
export function fromInput(value) {
  return value ? `${value}:00${OFFSET}` : null;
}

export function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** Monday of the week of `day` (weeks start on Monday in Vietnam). */
export function mondayOf(day) {
  const weekday = (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7;
  return addDays(day, -weekday);
}

export function today() {
  return dayOf(new Date());
}

/** [first day, day after the last] shown for `view` ("week" | "month") around `anchor`. */
export function rangeOf(view, anchor) {
  if (view === "month") {
    const first = `${anchor.slice(0, 7)}-01`;
    const next = addDays(first, 32).slice(0, 7) + "-01";
    return [mondayOf(first), addDays(mondayOf(addDays(next, -1)), 7)];
  }
  const start = mondayOf(anchor);
  return [start, addDays(start, 7)];
}

export function step(view, anchor, direction) {
  if (view === "month") {
    const first = `${anchor.slice(0, 7)}-01`;
    return direction > 0 ? addDays(first, 32).slice(0, 7) + "-01" : addDays(first, -1).slice(0, 7) + "-01";
  }
  return addDays(anchor, 7 * direction);
}

const WEEKDAYS = () => [gettext("Mon"), gettext("Tue"), gettext("Wed"), gettext("Thu"), gettext("Fri"), gettext("Sat"), gettext("Sun")];

export function dayLabel(day) {
  const weekday = (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7;
  return `${WEEKDAYS()[weekday]} ${day.slice(8, 10)}/${day.slice(5, 7)}`;
}

export function rangeLabel(view, anchor) {
  if (view === "month") return fmt(gettext("Month %(month)s/%(year)s"), {month: anchor.slice(5, 7), year: anchor.slice(0, 4)});
  const [start, end] = rangeOf(view, anchor);
  const last = addDays(end, -1);
  return `${start.slice(8, 10)}/${start.slice(5, 7)} – ${last.slice(8, 10)}/${last.slice(5, 7)}/${last.slice(0, 4)}`;
}

/**
 * The grid: one cell per day of the range, each listing the items that overlap it.
 * `items` have `starts_at`/`ends_at`; `render(item, day)` → a node; `onAdd(day)` adds a "+" button.
 */
export function renderGrid(container, {view, anchor, items, render, onAdd}) {
  const [start, end] = rangeOf(view, anchor);
  const month = anchor.slice(0, 7);
  container.replaceChildren();
  container.className = `calendar-grid view-${view}`;
  const now = today();
  for (let day = start; day < end; day = addDays(day, 1)) {
    const next = addDays(day, 1);
    const inside = items.filter((i) => dayOf(i.starts_at) < next && (i.ends_at ? dayOf(new Date(new Date(i.ends_at).getTime() - 1)) >= day : dayOf(i.starts_at) === day));
    const cell = el("section", {class: `calendar-day${day === now ? " today" : ""}${view === "month" && day.slice(0, 7) !== month ? " other-month" : ""}${inside.length ? "" : " empty"}`,
      dataset: {day}, "aria-label": dayLabel(day)},
    el("h4", {class: "calendar-day-title"}, dayLabel(day)));
    const list = el("ul", {class: "calendar-items"});
    for (const item of inside) list.append(el("li", {}, render(item, day)));
    cell.append(list);
    if (onAdd) {
      cell.append(el("button", {type: "button", class: "link-button calendar-add", "aria-label": fmt(gettext("Add on %(day)s"), {day: dayLabel(day)}),
        onclick: () => onAdd(day)}, "+"));
    }
    container.append(cell);
  }
}
