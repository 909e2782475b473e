/** What the API returns for the project's plugins (`/v1/plugins`): as `PluginService.list()` shows them. */
import { Type } from 'typebox';
import { PluginManifestSchema, PLUGIN_MODES } from '../../spec/plugin-manifest.js';

export const PluginSchema = Type.Object(
  {
    name: Type.String({ description: 'The plugin’s name, as its routes (`/v1/plugins/{name}/…`) and the lock name it' }),
    package: Type.String({ description: 'The npm package (or the linked directory’s package name)' }),
    version: Type.String(),
    source: Type.Enum(['registry', 'link'], { description: '`registry`: installed from an npm registry; `link`: a local directory (`agentry plugins link`)' }),
    mode: Type.Enum([...PLUGIN_MODES], {
      description: 'Isolation: `in-process` (a worker thread) or `process` (a child Node process under the permission model)',
    }),
    state: Type.Enum(['enabled', 'disabled', 'unavailable'], {
      description: '`disabled`: switched off fleet-wide (its routes 404, runs using it are refused); `unavailable`: it cannot load on this process (`error`)',
    }),
    disabled_reason: Type.Optional(Type.String()),
    error: Type.Optional(Type.String({ description: 'Why it cannot load (unavailable)' })),
    steps: Type.Array(Type.String(), { description: 'Step kinds it adds' }),
    tools: Type.Array(Type.String(), { description: 'Tools it adds' }),
    routes: Type.Array(Type.String(), { description: 'Routes it adds, as `METHOD /v1/plugins/{name}/path`' }),
    permissions: PluginManifestSchema.properties.permissions,
  },
  { title: 'Plugin' },
);

export const PluginListSchema = Type.Object({ items: Type.Array(PluginSchema) }, { title: 'PluginList' });
