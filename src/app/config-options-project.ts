/**
 * Options that say which project is run and how: its directory, a spec bundle and the keys
 * and environment it must be signed for, the profile of `agentry.yaml`, and the deployment's
 * environment (development or production).
 */
import type { OptionSpec } from './config-option.js';

export const PROJECT_OPTIONS = {
  projectDir: {
    kind: 'string',
    env: 'AGENTRY_PROJECT_DIR',
    flag: '--dir <dir>',
    default: '.',
    defaultText: '`.`',
    description: 'Project directory (holds `agentry.yaml` and `workflows/`).',
  },
  bundle: {
    kind: 'string',
    env: 'AGENTRY_BUNDLE',
    flag: '--bundle <file>',
    default: undefined,
    defaultText: 'none (specs are read from the project directory)',
    description:
      'Load the specs from this bundle (`agentry bundle build`) instead of the project directory; every file is checked against its manifest, and its signature against `trustKeys` when any are given (docs/security.md#signed-spec-bundles).',
  },
  requireSignedSpecs: {
    kind: 'boolean',
    env: 'AGENTRY_REQUIRE_SIGNED_SPECS',
    flag: '--require-signed-specs',
    default: false,
    defaultText: '`false`',
    description: 'Start only from a `bundle` signed by one of `trustKeys`; an unsigned, untrusted or tampered bundle is refused (`bundle_invalid`, exit 2).',
  },
  bundleEnv: {
    kind: 'string',
    env: 'AGENTRY_BUNDLE_ENV',
    flag: '--bundle-env <env>',
    default: undefined,
    defaultText: 'none (any environment)',
    description:
      'Start only from a `bundle` signed for this environment (`agentry bundle sign --env <env>`); one signed for another environment, or for none, is refused (`bundle_invalid`, reason `wrong_env`). Use it with `requireSignedSpecs`: only a signature makes the environment trustworthy.',
  },
  trustKeys: {
    kind: 'string',
    env: 'AGENTRY_TRUST_KEYS',
    flag: '--trust-key <pem>',
    default: undefined,
    defaultText: 'none',
    description: 'Public ed25519 keys (PEM files, comma-separated) whose signature on a `bundle` is trusted.',
  },
  profile: {
    kind: 'string',
    env: 'AGENTRY_PROFILE',
    default: undefined,
    defaultText: 'none',
    description: 'Profile of `agentry.yaml` merged over its top-level settings.',
  },
  environment: {
    kind: 'string',
    env: 'AGENTRY_ENVIRONMENT',
    default: undefined,
    defaultText: 'the environment named like `env` (`development`, `production`) when `agentry.yaml` declares one; else none',
    description:
      'Environment of `agentry.yaml` (`environments:`) whose settings are merged over the profile and whose policy every run must satisfy (docs/environments.md).',
  },
  env: {
    kind: 'string',
    env: 'AGENTRY_ENV',
    flag: '--env <env>',
    default: 'development',
    defaultText: '`development`',
    description:
      '`development` or `production`. Production refuses to start on an unsafe configuration, denies loopback and private egress unless allow-listed, and warns about settings unsafe there such as a `debug` log level (docs/security.md).',
  },
} as const satisfies Record<string, OptionSpec>;
