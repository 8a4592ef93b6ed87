import { describe, expect, it } from 'vitest';
import { browserAvailable, chooseGrant, parseGrantName, type GrantContext } from '../../src/core/grant-choice.js';

const ssh: GrantContext = { platform: 'linux', env: {}, noBrowser: false, deviceCodeSupported: true };

describe('grant choice', () => {
  it('auto opens a browser when the session can show one', () => {
    expect(chooseGrant('auto', { ...ssh, env: { DISPLAY: ':0' } })).toMatchObject({ grant: 'browser', openBrowser: true });
    expect(chooseGrant('auto', { ...ssh, env: { WAYLAND_DISPLAY: 'wayland-0' } })).toMatchObject({ grant: 'browser', openBrowser: true });
    expect(chooseGrant('auto', { ...ssh, platform: 'darwin' })).toMatchObject({ grant: 'browser', openBrowser: true });
    expect(chooseGrant('auto', { ...ssh, platform: 'win32' })).toMatchObject({ grant: 'browser', openBrowser: true });
    expect(chooseGrant('auto', { ...ssh, env: { BROWSER: 'w3m' } })).toMatchObject({ grant: 'browser', openBrowser: true });
    expect(chooseGrant('auto', { ...ssh, browserCommand: '/usr/bin/true' })).toMatchObject({ grant: 'browser', openBrowser: true });
  });

  it('auto uses the device code over SSH, and the printed loopback URL when the provider has no device flow', () => {
    expect(chooseGrant('auto', ssh)).toMatchObject({ grant: 'device-code' });
    const none = chooseGrant('auto', { ...ssh, deviceCodeSupported: false });
    expect(none).toMatchObject({ grant: 'browser', openBrowser: false });
    expect(none.why).toContain('no device code flow');
  });

  it('--no-browser means the loopback flow without opening anything, even with a display', () => {
    expect(chooseGrant('auto', { ...ssh, env: { DISPLAY: ':0' }, noBrowser: true })).toMatchObject({ grant: 'browser', openBrowser: false });
    expect(chooseGrant('browser', { ...ssh, noBrowser: true })).toMatchObject({ grant: 'browser', openBrowser: false });
  });

  it('an explicit grant is used as asked', () => {
    expect(chooseGrant('device-code', { ...ssh, env: { DISPLAY: ':0' } }).grant).toBe('device-code');
    expect(chooseGrant('password', { ...ssh, env: { DISPLAY: ':0' } }).grant).toBe('password');
    expect(chooseGrant('browser', ssh)).toMatchObject({ grant: 'browser', openBrowser: true });
  });

  it('parses grant names', () => {
    expect(parseGrantName('device-code')).toBe('device-code');
    expect(parseGrantName('Device')).toBe('device-code');
    expect(parseGrantName('auto')).toBe('auto');
    expect(parseGrantName('implicit')).toBeUndefined();
    expect(browserAvailable({ platform: 'linux', env: {} })).toEqual({ available: false, why: 'no DISPLAY, WAYLAND_DISPLAY or BROWSER' });
  });
});
