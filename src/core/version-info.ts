import { EXEC_API_VERSIONS } from './exec-credential.js';

/** The product version (package.json's; a test keeps them equal). */
export const VERSION = '0.1.0';

/** What `k8s-auth version` reports (docs/usage.md#version). */
export interface VersionInfo {
  version: string;
  node: string;
  /** the ExecCredential apiVersions `credential` answers (user.exec.apiVersion) */
  execCredentialApiVersions: string[];
}

export function versionInfo(version: string, nodeVersion: string): VersionInfo {
  return { version, node: nodeVersion, execCredentialApiVersions: [...EXEC_API_VERSIONS] };
}

export function formatVersion(info: VersionInfo): string {
  return `k8s-auth ${info.version} (node ${info.node}; exec credential API ${info.execCredentialApiVersions.join(', ')})\n`;
}
