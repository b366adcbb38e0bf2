#!/usr/bin/env node
/** The connector's executable: `destination-csv spec | check --config F | write --config F --catalog F`. */
import { runConnectorMain } from 'destkit';
import { connector } from './index.js';

runConnectorMain(connector);
