#!/usr/bin/env node
import { runCli } from './run-cli.ts';

// The `idemq` command (package.json `bin`): `idemq --help` lists the subcommands.
const code = await runCli(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
