// Log lines of a running node (`divs up --log-format text|json --log-level LEVEL`), for both runtimes.
// text: `[divs] message key=value ...` for a person at a terminal (journald adds the time);
// json: one object a line, {"time","level","message",...fields}, for a log system.
import { usageError } from "./errors.ts";
import type { LogFields, Logger } from "./services.ts";

export const LOG_FORMATS = ["text", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogOptions {
  format: LogFormat;
  level: LogLevel;
}

export const DEFAULT_LOG: LogOptions = { format: "text", level: "info" };

export function parseLogFormat(text: string): LogFormat {
  if ((LOG_FORMATS as readonly string[]).includes(text)) return text as LogFormat;
  throw usageError(`bad --log-format "${text}": expected ${LOG_FORMATS.join(" or ")}`);
}

export function parseLogLevel(text: string): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(text)) return text as LogLevel;
  throw usageError(`bad --log-level "${text}": expected ${LOG_LEVELS.join(", ")}`);
}

/** A Logger writing whole lines (without the newline) to `write`; `now` gives the wall clock. */
export function createLogger(options: LogOptions, write: (line: string) => void, now: () => Date = () => new Date()): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level);
  const line = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    write(options.format === "json" ? jsonLine(now(), level, message, fields) : textLine(level, message, fields));
  };
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
}

function jsonLine(time: Date, level: LogLevel, message: string, fields?: LogFields): string {
  // The fields first, so a field never hides time, level or message.
  return JSON.stringify({ ...fields, time: time.toISOString(), level, message });
}

function textLine(level: LogLevel, message: string, fields?: LogFields): string {
  const prefix = level === "info" || level === "debug" ? "[divs] " : `[divs] ${level === "warn" ? "warning" : "error"}: `;
  const rest = Object.entries(fields ?? {}).map(([k, v]) => ` ${k}=${textValue(v)}`).join("");
  return prefix + message + rest;
}

function textValue(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return /^[^\s"=]*$/.test(s) && s !== "" ? s : JSON.stringify(s);
}
