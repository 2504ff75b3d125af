// The timezone field: a searchable combobox (WAI-ARIA editable combobox with a list) over
// the IANA zones by their current names. Type part of a city ("kol") or an old name
// ("Calcutta"), pick with the arrow keys and Enter, or type a full zone name and move on:
// a known name or alias is taken in its current spelling, anything else as typed (the
// server then says what is wrong with it, next to the field).
import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from "react";
import {
  canonicalZone,
  currentOffset,
  resolveZone,
  searchZones,
  zoneEntries,
  type ZoneEntry,
  type ZoneMatch,
} from "../lib/timezones";
import { CheckIcon } from "./icons";

export interface TimezonePickerProps {
  id?: string;
  value: string;
  onChange: (zone: string) => void;
  /** The viewer's own zone, suggested first. */
  viewer: string;
  invalid?: boolean;
  describedBy?: string;
}

/** The options for what was typed; with nothing typed, UTC and the viewer's zone first. */
function zoneOptions(entries: readonly ZoneEntry[], query: string, viewer: string): ZoneMatch[] {
  const found = searchZones(entries, query);
  if (query.trim()) return found;
  const first = ["UTC", canonicalZone(viewer)];
  const top = first.flatMap((name) => found.filter((m) => m.entry.name === name));
  return [...top, ...found.filter((m) => !first.includes(m.entry.name))];
}

export function TimezonePicker({ id, value, onChange, viewer, invalid, describedBy }: TimezonePickerProps) {
  const entries = useMemo(() => zoneEntries(), []);
  const listId = useId();
  const input = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLUListElement>(null);
  const [text, setText] = useState(value);
  const [query, setQuery] = useState("");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);

  // Shown while not editing: the current value (it may change from outside, e.g. a reset).
  useEffect(() => {
    if (!open) setText(value);
  }, [value, open]);

  const options = useMemo(() => zoneOptions(entries, query, viewer), [entries, query, viewer]);

  useEffect(() => {
    if (!open || active < 0) return;
    const option = list.current?.children[active] as HTMLElement | undefined;
    option?.scrollIntoView?.({ block: "nearest" });
  }, [open, active]);

  const optionId = (index: number) => `${listId}-option-${index}`;

  const show = () => {
    setQuery("");
    setOpen(true);
    // Start on the current value, so the arrows move from where the user is.
    const current = canonicalZone(value);
    setActive(Math.max(0, zoneOptions(entries, "", viewer).findIndex((m) => m.entry.name === current)));
  };

  const close = () => {
    setOpen(false);
    setActive(-1);
    setQuery("");
  };

  const choose = (zone: string) => {
    close();
    setText(zone);
    if (zone !== value) onChange(zone);
  };

  /** Take what was typed: a known name or alias in its current spelling, else as typed. */
  const commitTyped = () => {
    const typed = text.trim();
    if (!typed || typed === value) {
      close();
      setText(value);
      return;
    }
    choose(resolveZone(entries, typed) ?? typed);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        if (!open) show();
        else setActive((i) => Math.min(i + 1, options.length - 1));
        break;
      case "ArrowUp":
        event.preventDefault();
        if (!open) show();
        else setActive((i) => Math.max(i - 1, 0));
        break;
      case "PageDown":
        if (open) {
          event.preventDefault();
          setActive((i) => Math.min(i + 8, options.length - 1));
        }
        break;
      case "PageUp":
        if (open) {
          event.preventDefault();
          setActive((i) => Math.max(i - 8, 0));
        }
        break;
      case "Enter": {
        const picked = open && active >= 0 ? options[active] : undefined;
        if (picked) {
          event.preventDefault(); // pick, not submit the form
          choose(picked.entry.name);
        } else if (text.trim() !== value) {
          event.preventDefault();
          commitTyped();
        }
        break;
      }
      case "Escape":
        if (open || text !== value) {
          event.preventDefault();
          event.stopPropagation();
          close();
          setText(value);
        }
        break;
      case "Tab":
        if (open && active >= 0 && query.trim()) {
          const picked = options[active];
          if (picked) choose(picked.entry.name);
        }
        break;
    }
  };

  return (
    <div className="tz-picker">
      <input
        ref={input}
        id={id}
        className="input tz-input"
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={open}
        aria-controls={listId}
        aria-activedescendant={open && active >= 0 ? optionId(active) : undefined}
        aria-invalid={invalid}
        aria-describedby={describedBy}
        autoComplete="off"
        autoCapitalize="off"
        spellCheck={false}
        placeholder="Search: city or zone, e.g. Kolkata"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setQuery(e.target.value);
          setOpen(true);
          setActive(e.target.value.trim() ? 0 : -1);
        }}
        onClick={() => {
          if (!open) show();
        }}
        onKeyDown={onKeyDown}
        onBlur={() => {
          if (open || text !== value) commitTyped();
        }}
      />
      <button
        type="button"
        className="tz-toggle"
        tabIndex={-1}
        aria-label={open ? "Hide the list of zones" : "Show all zones"}
        onMouseDown={(e) => e.preventDefault()}
        onClick={() => {
          if (open) close();
          else {
            show();
            input.current?.focus();
          }
        }}
      />
      {open ? (
        <div className="tz-popup" onMouseDown={(e) => e.preventDefault()}>
          <ul ref={list} id={listId} role="listbox" aria-label="Timezones" className="tz-list">
            {options.map((match, index) => {
              const name = match.entry.name;
              return (
                <li
                  key={name}
                  id={optionId(index)}
                  role="option"
                  aria-selected={index === active}
                  className={`tz-option${index === active ? " active" : ""}${name === canonicalZone(value) ? " current" : ""}`}
                  onMouseMove={() => setActive(index)}
                  onClick={() => choose(name)}
                >
                  <span className="tz-name">{name}</span>{" "}
                  <span className="tz-meta">
                    {match.via ? `also ${match.via} · ` : ""}
                    {name === canonicalZone(viewer) && name !== "UTC" ? "yours · " : ""}
                    {currentOffset(name)}
                  </span>
                  {name === canonicalZone(value) ? <CheckIcon size={14} className="tz-check" /> : null}
                </li>
              );
            })}
          </ul>
          {options.length === 0 ? (
            <div className="tz-empty" role="status">
              No zone matches “{query.trim()}”. Press Enter to use it as typed.
            </div>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
