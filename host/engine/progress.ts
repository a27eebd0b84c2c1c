// `divs up` on a terminal: one line that says what the node is doing while it starts, rewritten in
// place, then a summary line. Log lines (and the join token) written meanwhile go above it. Off a
// terminal (a service, a pipe) there is no progress line: the log says the same.
import { createLogger, type LogOptions } from "../base/log.ts";
import type { Logger } from "../base/services.ts";

/** Erase the line the cursor is on and go to its start. */
const CLEAR_LINE = "\r\u001b[K";

export class Progress {
  private current: string | null = null;

  /** `write` puts text on the terminal as is (no newline added). */
  constructor(private readonly write: (text: string) => void) {}

  step(text: string): void {
    this.current = `divs: ${text}...`;
    this.write(CLEAR_LINE + this.current);
  }

  /** Ends the progress line with the summary. */
  done(summary: string): void {
    this.current = null;
    this.write(`${CLEAR_LINE}${summary}\n`);
  }

  /** A log line: above the progress line, which is redrawn under it. */
  line(text: string): void {
    this.write(this.current === null ? `${text}\n` : `${CLEAR_LINE}${text}\n${this.current}`);
  }
}

/**
 * A node's stderr: the logger, and the progress line when `progress` (text logs, stdout and stderr
 * on a terminal, decided by the CLI). `write` puts text on stderr as is.
 */
export function nodeOutput(options: { log: LogOptions; progress: boolean }, write: (text: string) => void): { log: Logger; progress: Progress | null } {
  const progress = options.progress ? new Progress(write) : null;
  const log = createLogger(options.log, progress ? (line) => progress.line(line) : (line) => write(`${line}\n`));
  return { log, progress };
}
