#!/usr/bin/env node
// cfimap's command line on the Node host: see lib/cli.js.
import { main } from '../lib/cli.js';

process.exitCode = await main(process.argv.slice(2));
