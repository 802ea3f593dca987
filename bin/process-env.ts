// The CLI's flags stand for environment variables (--routes for FORWARD_ROUTES_FILE): they are
// passed on as those variables, which the configuration loader (src/config.ts) then reads and
// checks with the rest. The CLI writes them here and reads none itself.

/** Sets `name` for this process and the processes it starts; a flag given wins over the environment. */
export function passOn(name: string, value: string | undefined): void {
  if (value !== undefined) process.env[name] = value;
}

/** Sets `name` unless the environment already sets it: a default of a command, not of the service. */
export function passOnDefault(name: string, value: string): void {
  process.env[name] ??= value;
}
