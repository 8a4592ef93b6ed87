import type { Command } from 'commander';
import { registerComplete } from './complete.js';
import { registerScript } from './script.js';

/** `k8s-auth completion <shell>` and the hidden `__complete` its scripts call. */
export function register(program: Command): void {
  registerScript(program);
  registerComplete(program);
}
