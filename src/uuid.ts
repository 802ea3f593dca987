/** The textual form of a Postgres uuid; any other string would make Postgres raise 22P02. */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

const UUID = new RegExp(UUID_PATTERN);

/** True when the string can be a uuid: ids that cannot are simply not found, without asking Postgres. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
