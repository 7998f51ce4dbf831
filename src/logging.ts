import { pino, destination, type Logger, type LevelWithSilent } from "pino";

export type { Logger };
export type LogLevel = LevelWithSilent;

/**
 * The project's logger. Library use is silent unless a level or a logger is given, so
 * embedding the kernel never writes to a user's stderr uninvited.
 */
export function createLogger(options: { level?: LogLevel; logger?: Logger; name?: string } = {}): Logger {
  if (options.logger) return options.name ? options.logger.child({ component: options.name }) : options.logger;
  const base = pino({ level: options.level ?? "silent", base: undefined }, destination(2));
  return options.name ? base.child({ component: options.name }) : base;
}
