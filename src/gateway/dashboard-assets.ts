import { existsSync, readFileSync } from 'node:fs';
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
 * The monitor-state reducer as the browser imports it: the module `tsc`
 * compiled next to this one (`dist/`), or, running from `src/` under tsx,
 * the TypeScript source with its types stripped by the TypeScript compiler
 * (a dev dependency, present wherever `src/` runs). Its only imports are
 * types, so the result is a self-contained ES module: one reducer, for the
 * gateway and the page alike.
 */
function monitorStateModule(): Buffer {
  const compiled = new URL('../monitor/monitor-state.js', import.meta.url);
  if (existsSync(compiled)) {
    // Its source map is not served: drop the comment that would send devtools looking for it.
    return Buffer.from(readFileSync(compiled, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, ''), 'utf8');
  }
  const source = readFileSync(new URL('../monitor/monitor-state.ts', import.meta.url), 'utf8');
  const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true },
  });
  return Buffer.from(outputText, 'utf8');
}

let reducerModule: Buffer | undefined;

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
  reducerModule ??= monitorStateModule();
  assets.set('monitor-state.js', { contentType: 'text/javascript; charset=utf-8', body: reducerModule });
  assets.set('oidc-client-ts.js', { contentType: 'text/javascript; charset=utf-8', body: readFileSync(OIDC_CLIENT) });
  return assets;
}
