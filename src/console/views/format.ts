/** How times and durations read in the console: UTC, to the second, as the logs have them. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return "";
  return iso.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC");
}

/** 42 s, 7 min, 3 h 5 min, 2 d 4 h. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** Seconds from an ISO time to now. */
export function secondsSince(iso: string, now: number): number {
  return (now - Date.parse(iso)) / 1000;
}

export function typeLabel(plugin: string, mode: string, size: number | string): string {
  return `${plugin}${mode ? `/${mode}` : ""} × ${size}`;
}
