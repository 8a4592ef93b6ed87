// Watches a `k8s-auth … --grant device-code` child process for its device prompt, so tests
// against any provider (oidc-provider, Dex, Keycloak) read the verification URI and user code
// the same way.
import type { ChildProcess } from 'node:child_process';

export interface DevicePrompt {
  verificationUri: string;
  userCode: string;
}

export interface DevicePromptWatch {
  /** the first prompt the CLI printed; rejects on timeout or if the CLI exits first */
  prompt: Promise<DevicePrompt>;
  /** the CLI's exit code */
  exited: Promise<number | null>;
  /** everything the CLI wrote to stderr so far */
  readonly stderr: string;
}

const PROMPT = /open (https:\/\/\S+) in a browser on any device and enter the code (\S+)/;

export function watchDevicePrompt(child: ChildProcess, timeoutMs: number): DevicePromptWatch {
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const prompt = new Promise<DevicePrompt>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no device prompt; stderr: ${stderr}`)), timeoutMs);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const m = PROMPT.exec(stderr);
      if (m?.[1] && m[2]) {
        clearTimeout(timer);
        resolve({ verificationUri: m[1], userCode: m[2] });
      }
    });
    child.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`the CLI exited before the device prompt: ${stderr}`));
    });
  });
  prompt.catch(() => undefined);
  return {
    prompt,
    exited,
    get stderr() {
      return stderr;
    },
  };
}
