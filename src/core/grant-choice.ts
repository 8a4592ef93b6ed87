/**
 * Which sign-in flow to run. `auto` opens a browser when one can be opened, and otherwise uses
 * the device code flow when the provider offers it, so an SSH session never waits on a browser
 * nobody can see. Without either, the loopback flow still works: the URL is printed and the
 * callback port can be forwarded with `ssh -L`.
 */
export type GrantName = 'auto' | 'browser' | 'device-code' | 'password';
export const GRANT_NAMES: readonly GrantName[] = ['auto', 'browser', 'device-code', 'password'];

export function parseGrantName(value: string): GrantName | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'device' || v === 'devicecode') return 'device-code';
  return (GRANT_NAMES as readonly string[]).includes(v) ? (v as GrantName) : undefined;
}

export interface GrantContext {
  platform: string;
  env: Readonly<Record<string, string | undefined>>;
  /** --browser-command */
  browserCommand?: string;
  /** --no-browser: loopback flow, print the URL, open nothing. */
  noBrowser: boolean;
  /** The provider's discovery lists a device_authorization_endpoint. */
  deviceCodeSupported: boolean;
}

export type GrantDecision =
  | { grant: 'browser'; openBrowser: boolean; why: string }
  | { grant: 'device-code'; why: string }
  | { grant: 'password'; why: string };

/** Can this session show a browser to the person at the keyboard? */
export function browserAvailable(ctx: Pick<GrantContext, 'platform' | 'env' | 'browserCommand'>): { available: boolean; why: string } {
  if (ctx.browserCommand) return { available: true, why: '--browser-command is set' };
  if (ctx.env['BROWSER']) return { available: true, why: 'BROWSER is set' };
  if (ctx.platform === 'darwin' || ctx.platform === 'win32') return { available: true, why: `${ctx.platform} has a desktop` };
  if (ctx.env['WAYLAND_DISPLAY']) return { available: true, why: 'WAYLAND_DISPLAY is set' };
  if (ctx.env['DISPLAY']) return { available: true, why: 'DISPLAY is set' };
  return { available: false, why: 'no DISPLAY, WAYLAND_DISPLAY or BROWSER' };
}

export function chooseGrant(requested: GrantName, ctx: GrantContext): GrantDecision {
  switch (requested) {
    case 'password':
      return { grant: 'password', why: '--grant password' };
    case 'device-code':
      return { grant: 'device-code', why: '--grant device-code' };
    case 'browser':
      return { grant: 'browser', openBrowser: !ctx.noBrowser, why: ctx.noBrowser ? '--grant browser --no-browser' : '--grant browser' };
    case 'auto': {
      if (ctx.noBrowser) return { grant: 'browser', openBrowser: false, why: '--no-browser: loopback sign-in, open the printed URL yourself' };
      const browser = browserAvailable(ctx);
      if (browser.available) return { grant: 'browser', openBrowser: true, why: browser.why };
      if (ctx.deviceCodeSupported) return { grant: 'device-code', why: `${browser.why}, and the provider offers the device code flow` };
      return { grant: 'browser', openBrowser: false, why: `${browser.why}, and the provider offers no device code flow: open the printed URL yourself` };
    }
  }
}
