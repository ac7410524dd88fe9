import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** One static file of the dashboard, ready to serve. */
export interface DashboardAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

const FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
  'oidc-sign-in.js': 'text/javascript; charset=utf-8',
};

/** oidc-client-ts' self-contained browser build, served as is from the installed package. */
const OIDC_CLIENT = new URL(
  'dist/browser/oidc-client-ts.min.js',
  pathToFileURL(createRequire(import.meta.url).resolve('oidc-client-ts/package.json')),
);

/**
 * Loads the dashboard's static files (plain HTML, CSS and JavaScript: no build
 * step) from `./dashboard/` next to this module, in `src/` under tsx and in
 * `dist/` after `npm run build`, which copies them there.
 * @returns the files by name.
 */
export function loadDashboardAssets(): ReadonlyMap<string, DashboardAsset> {
  const assets = new Map<string, DashboardAsset>();
  for (const [name, contentType] of Object.entries(FILES)) {
    const body = readFileSync(new URL(`./dashboard/${name}`, import.meta.url));
    assets.set(name, { contentType, body });
  }
  assets.set('oidc-client-ts.js', { contentType: 'text/javascript; charset=utf-8', body: readFileSync(OIDC_CLIENT) });
  return assets;
}
