#!/usr/bin/env node
// The release's publish step, end to end, without the real registry: starts verdaccio on 127.0.0.1 with a temp
// storage (its only uplink is the npm registry, used for third-party packages; @lenet/* never leaves loopback),
// adds a throwaway user, runs `changeset publish --no-git-tag` against it exactly as `pnpm release` does, then
// installs @lenet/trainer back from it into a fresh project and runs `lenet --help`. Needs a build first
// (`pnpm release:dry-run` builds through turbo). Publishes the versions in the package.json files as they are.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'lenet-release-dry-run-'));
const port = await freePort();
const registry = `http://127.0.0.1:${port}/`;

writeFileSync(
  join(work, 'verdaccio.yaml'),
  `storage: ${join(work, 'storage')}
auth:
  htpasswd:
    file: ${join(work, 'htpasswd')}
    max_users: 1
uplinks:
  npmjs:
    url: ${upstreamRegistry()}
packages:
  '@lenet/*':
    access: $all
    publish: $authenticated
  '**':
    access: $all
    proxy: npmjs
server:
  keepAliveTimeout: 0
log: { type: stdout, format: pretty, level: warn }
`,
);

const verdaccio = spawn(
  process.execPath,
  [
    join(root, 'node_modules/verdaccio/bin/verdaccio'),
    '--config',
    join(work, 'verdaccio.yaml'),
    '--listen',
    `127.0.0.1:${port}`,
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
let failed = false;
try {
  await waitForRegistry();
  const token = await addThrowawayUser();
  const npmrc = join(work, 'npmrc');
  writeFileSync(npmrc, `registry=${registry}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
  // npm and pnpm (which changesets runs per package) both read these; nothing here can reach the real registry.
  const env = { ...process.env, NPM_CONFIG_USERCONFIG: npmrc, npm_config_registry: registry };

  console.log(`release-dry-run: changeset publish to ${registry}`);
  execFileSync('pnpm', ['exec', 'changeset', 'publish', '--no-git-tag'], {
    cwd: root,
    env,
    stdio: 'inherit',
  });

  const published = await (await fetch(`${registry}@lenet%2ftrainer`)).json();
  const version = published['dist-tags']?.latest;
  if (!version) throw new Error('@lenet/trainer is not on the local registry after changeset publish');
  const deps = published.versions[version].dependencies;
  if (Object.values(deps).some((spec) => spec.startsWith('workspace:'))) {
    throw new Error(
      `@lenet/trainer@${version} was published with workspace: dependencies: ${JSON.stringify(deps)}`,
    );
  }

  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), '{ "name": "install-back", "private": true }\n');
  execFileSync(
    'npm',
    [
      'install',
      `@lenet/trainer@${version}`,
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--ignore-scripts',
    ],
    {
      cwd: app,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const help = execFileSync('npx', ['lenet', '--help'], { cwd: app, env, encoding: 'utf8' });
  if (!/\btrain\b/.test(help)) throw new Error(`lenet --help from the installed package printed:\n${help}`);
  console.log(
    `release-dry-run: published and installed @lenet/trainer@${version} back; \`lenet --help\` works`,
  );
} catch (error) {
  failed = true;
  console.error(`release-dry-run: FAILED: ${error.message}`);
} finally {
  verdaccio.kill();
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

/** The npm registry this machine is configured for (a mirror, or registry.npmjs.org): verdaccio's only uplink. */
function upstreamRegistry() {
  return execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim();
}

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((done) => server.once('listening', done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

async function waitForRegistry() {
  for (let i = 0; i < 100; i++) {
    if (verdaccio.exitCode !== null) throw new Error(`verdaccio exited with status ${verdaccio.exitCode}`);
    try {
      if ((await fetch(`${registry}-/ping`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error('verdaccio did not answer on /-/ping within 20 s');
}

/** Creates the registry's only user (htpasswd, max_users 1) and returns its token, as `npm adduser` would. */
async function addThrowawayUser() {
  const response = await fetch(`${registry}-/user/org.couchdb.user:release-dry-run`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'release-dry-run', password: `throwaway-${process.pid}-${Date.now()}` }),
  });
  const body = await response.json();
  if (!response.ok || !body.token)
    throw new Error(`verdaccio refused the throwaway user: ${JSON.stringify(body)}`);
  return body.token;
}
