// The deployment files as the tools that read them see them, without a Docker engine: docker-compose.yml
// against the Compose Specification's JSON schema and through dclint, then the rules the runbook promises
// (healthchecks, networks, secrets, updater labels, process settings, migrations), the image's Dockerfile
// and build context, and the operations scripts (shellcheck, and the entry point run for real).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { API_PROCESS } from '../api/src/process-settings.ts';
import { ASSIST_PROCESS } from '../assist/src/process-settings.ts';
import { testEnv } from '../devstack/testing.ts';
import { SCANNER_PROCESS } from '../scanner/src/process-settings.ts';
import { WORKERS_PROCESS } from '../workers/src/process-settings.ts';

const root = join(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}
interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string> | string[];
  env_file?: string[];
  networks?: string[] | Record<string, unknown>;
  ports?: string[];
  expose?: string[];
  healthcheck?: Healthcheck;
  labels?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  secrets?: string[];
  volumes?: string[];
  user?: string;
  read_only?: boolean;
  restart?: string;
  tmpfs?: string[];
  cap_drop?: string[];
  container_name?: string;
  deploy?: { replicas?: number; resources?: { limits?: { cpus?: string; memory?: string } } };
}
interface ComposeFile {
  services: Record<string, Service>;
  networks: Record<string, { internal?: boolean; external?: boolean; name?: string }>;
  secrets: Record<string, { file?: string; environment?: string }>;
}

const composeText = read('docker-compose.yml');
/** The file as Compose reads it: YAML anchors and merge keys resolved, ${...} left as written. */
const compose = parse(composeText, { merge: true }) as ComposeFile;
const services = compose.services;

const envOf = (s: Service): Record<string, string> =>
  Array.isArray(s.environment)
    ? Object.fromEntries(s.environment.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]))
    : (s.environment ?? {});
const networksOf = (s: Service): string[] =>
  Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? {});
const labelOf = (s: Service, name: string) => s.labels?.[name];

const DATABASES = ['postgres', 'redis', 'mongo'];
/** Services that run the Amanat image (deploy/Dockerfile). */
const AMANAT = Object.keys(services).filter((name) => services[name]?.image?.startsWith('${AMANAT_IMAGE'));
const AMANAT_SERVICES = ['api', 'app', 'assist', 'payout-signer', 'scanner', 'workers'];

/** Each Amanat service: the process settings its command must carry, where it serves /healthz. */
const PROCESSES: Record<
  string,
  {
    entry: string;
    settings: { nodeArgs: readonly string[]; env: Record<string, string> } | null;
    port: string;
  }
> = {
  api: { entry: 'api/src/main.ts', settings: API_PROCESS, port: 'API_PORT' },
  workers: { entry: 'workers/src/main.ts', settings: WORKERS_PROCESS, port: 'WORKERS_HEALTH_PORT' },
  'payout-signer': { entry: 'workers/src/main.ts', settings: WORKERS_PROCESS, port: 'WORKERS_HEALTH_PORT' },
  scanner: { entry: 'scanner/src/main.ts', settings: SCANNER_PROCESS, port: 'SCANNER_HEALTH_PORT' },
  assist: { entry: 'assist/src/main.ts', settings: ASSIST_PROCESS, port: 'ASSIST_PORT' },
  app: { entry: 'app/server.ts', settings: null, port: 'APP_PORT' },
};

function composeSchemaValidator() {
  const require = createRequire(import.meta.url);
  // dclint's package.json `exports` does not expose its schemas folder: read it from the package's directory.
  const pkg = require.resolve('dclint/package.json');
  const schema = JSON.parse(readFileSync(join(dirname(pkg), 'schemas', 'compose.schema.json'), 'utf8'));
  // The schema uses formats ajv does not define (durations); like dclint, ignore them rather than fail.
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true, logger: false });
  // It names draft-07 by its https address, which ajv knows only as http: the same meta-schema, so the
  // schema itself is checked against draft-07 before it checks the file.
  const draft07 = require('ajv/dist/refs/json-schema-draft-07.json');
  ajv.addMetaSchema({ ...draft07, $id: schema.$schema });
  return ajv.compile(schema);
}

const dclint = (file: string, cwd = root) =>
  spawnSync(join(root, 'node_modules', '.bin', 'dclint'), [file, '--max-warnings', '0', '--color', 'false'], {
    cwd,
    encoding: 'utf8',
  });

describe('docker-compose.yml as the tools read it', () => {
  const validate = composeSchemaValidator();

  it('is valid against the Compose Specification', () => {
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema check refuses a broken file', () => {
    const unknownKey = structuredClone(compose);
    (unknownKey.services.api as Record<string, unknown>).restart_policy = 'always';
    expect(validate(unknownKey)).toBe(false);
    // An unquoted `: ` inside a list item turns a healthcheck command into a map.
    const mapped = parse(composeText.replace('- "fetch(', '- fetch(').replace('1))"', '1))'), {
      merge: true,
    });
    expect(validate(mapped)).toBe(false);
  });

  it('passes dclint with no errors and no warnings', () => {
    const result = dclint('docker-compose.yml');
    expect(result.stdout + result.stderr).not.toMatch(/error|warning/);
    expect(result.status).toBe(0);
  });

  it('dclint fails a file that breaks one of its rules', () => {
    const dir = mkdtempSync(join(tmpdir(), 'amanat-compose-'));
    try {
      const file = join(dir, 'docker-compose.yml');
      writeFileSync(file, composeText.replace('image: postgres:18', 'image: postgres:latest'));
      const result = dclint(file);
      expect(result.stdout).toMatch(/service-image-require-explicit-tag/);
      expect(result.status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('services', () => {
  it('are the ones the runbook describes', () => {
    expect([...AMANAT].sort()).toEqual(AMANAT_SERVICES);
    expect(Object.keys(services).sort()).toEqual(
      [...AMANAT_SERVICES, 'caddy', 'mongo', 'postgres', 'redis', 'watchtower'].sort(),
    );
  });

  it('every one has a healthcheck', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.healthcheck?.disable, name).not.toBe(true);
      expect(service.healthcheck?.test?.length, name).toBeGreaterThan(1);
    }
  });

  it('only Caddy publishes ports', () => {
    const publishing = Object.entries(services)
      .filter(([, s]) => (s.ports ?? []).length > 0)
      .map(([name]) => name);
    expect(publishing).toEqual(['caddy']);
  });

  it('databases publish no port and sit only on the internal network, which has no way out', () => {
    expect(compose.networks.internal?.internal).toBe(true);
    for (const name of DATABASES) {
      const db = services[name] as Service;
      expect(db.ports ?? [], name).toEqual([]);
      expect(networksOf(db), name).toEqual(['internal']);
    }
    // Nothing else is only on the internal network: it would have no route to the internet.
    for (const [name, s] of Object.entries(services)) {
      if (!DATABASES.includes(name) && networksOf(s).length > 0)
        expect(networksOf(s), name).not.toEqual(['internal']);
    }
  });

  it('Caddy and the application containers share the external shared-web network', () => {
    expect(compose.networks['shared-web']).toEqual({ external: true, name: 'shared-web' });
    for (const name of [...AMANAT, 'caddy'])
      expect(networksOf(services[name] as Service), name).toContain('shared-web');
  });

  it('Caddy gets the Caddyfile and every variable the Caddyfile requires', () => {
    const caddy = services.caddy as Service;
    expect(caddy.volumes).toContain('./Caddyfile:/etc/caddy/Caddyfile:ro');
    // {$VAR} without a `:default` must come from the environment.
    const required = [...read('Caddyfile').matchAll(/\{\$([A-Z0-9_]+)\}/g)].map((m) => m[1]);
    expect(required.length).toBeGreaterThan(0);
    for (const name of new Set(required)) expect(envOf(caddy), name).toHaveProperty(name as string);
  });
});

describe('application services', () => {
  it.each(AMANAT_SERVICES)(
    '%s: restarts, runs as a non-root user on a read-only root, with limits',
    (name) => {
      const s = services[name] as Service;
      expect(s.restart).toBe('unless-stopped');
      expect(s.user).toBeDefined();
      expect(['root', '0', '0:0']).not.toContain(s.user);
      expect(s.read_only).toBe(true);
      expect(s.tmpfs).toContain('/tmp');
      expect(s.cap_drop).toEqual(['ALL']);
      expect(s.deploy?.resources?.limits?.memory).toMatch(/^\d+[MG]$/);
      expect(s.deploy?.resources?.limits?.cpus).toMatch(/^\d+(\.\d+)?$/);
    },
  );

  it.each(AMANAT_SERVICES)('%s: starts once what it depends on is healthy', (name) => {
    const deps = Object.entries(services[name]?.depends_on ?? {});
    expect(deps.length).toBeGreaterThan(0);
    for (const [dep, { condition }] of deps) {
      expect(condition, `${name} → ${dep}`).toBe('service_healthy');
      expect(services[dep]?.healthcheck, dep).toBeDefined();
    }
  });

  it.each(AMANAT_SERVICES)('%s: is checked on /healthz at the port it listens on', (name) => {
    const s = services[name] as Service;
    const { port } = PROCESSES[name] as (typeof PROCESSES)[string];
    const value = envOf(s)[port];
    expect(value, port).toMatch(/^\d+$/);
    expect(s.healthcheck?.test?.[0]).toBe('CMD');
    expect([s.healthcheck?.test ?? []].flat().join(' ')).toContain(`http://127.0.0.1:${value}/healthz`);
  });

  it.each(['api', 'workers', 'scanner'])(
    '%s: can run several replicas (no fixed name, no host port)',
    (name) => {
      const s = services[name] as Service;
      expect(s.container_name).toBeUndefined();
      expect(s.ports).toBeUndefined();
    },
  );

  it('services that listen for other containers bind every interface', () => {
    expect(envOf(services.api as Service).API_HOST).toBe('0.0.0.0');
    expect(envOf(services.assist as Service).ASSIST_HOST).toBe('0.0.0.0');
    expect(envOf(services.app as Service).APP_HOST).toBe('0.0.0.0');
  });

  it.each(AMANAT_SERVICES)('%s: runs its entry point with its process settings', (name) => {
    const s = services[name] as Service;
    const { entry, settings } = PROCESSES[name] as (typeof PROCESSES)[string];
    const command = s.command as string[];
    const node = command.indexOf('node');
    expect(node).toBeGreaterThanOrEqual(0);
    expect(command.at(-1)).toBe(entry);
    expect(existsSync(join(root, entry)), entry).toBe(true);
    expect(command.slice(node + 1, -1)).toEqual([...(settings?.nodeArgs ?? [])]);
    for (const [key, value] of Object.entries(settings?.env ?? {})) expect(envOf(s)[key], key).toBe(value);
  });

  it('memory limits leave room above the old-space cap the flags set', () => {
    const mb = (limit: string) => Number.parseInt(limit, 10) * (limit.endsWith('G') ? 1024 : 1);
    for (const name of AMANAT_SERVICES) {
      const s = services[name] as Service;
      const flag = (s.command ?? []).find((a) => a.startsWith('--max-old-space-size='));
      if (!flag) continue;
      const semi = Number(
        (s.command ?? []).find((a) => a.startsWith('--max-semi-space-size='))?.split('=')[1],
      );
      // Old space + young generation (three semi-spaces) + about 128 MB for code, native memory and the
      // healthcheck's own node process: below that the kernel kills the service before V8 collects.
      const needed = Number(flag.split('=')[1]) + 3 * semi + 128;
      expect(mb(s.deploy?.resources?.limits?.memory as string), name).toBeGreaterThanOrEqual(needed);
    }
  });

  it('migrations run as the entry step of every service that uses the tables', () => {
    const migrating = AMANAT_SERVICES.filter((name) => services[name]?.command?.[0] === '--migrate');
    expect(migrating).toEqual(['api', 'payout-signer', 'workers']);
  });
});

describe('secrets and updates', () => {
  const SPENDING = ['PAYOUT_MNEMONIC', 'PAYOUT_MNEMONIC_FILE', 'GAS_TANK_KEY', 'GAS_TANK_KEY_FILE'];

  it('only the payout signer mounts the spending keys, as files', () => {
    expect(Object.keys(compose.secrets).sort()).toEqual(['gas-tank-key', 'payout-mnemonic']);
    for (const secret of Object.values(compose.secrets))
      expect(secret.file).toMatch(/^\/etc\/amanat\/secrets\//);
    const holders = Object.entries(services)
      .filter(([, s]) => (s.secrets ?? []).length > 0)
      .map(([name]) => name);
    expect(holders).toEqual(['payout-signer']);
    const signer = envOf(services['payout-signer'] as Service);
    expect(signer.WORKERS_ROLES).toBe('payouts');
    expect(signer.PAYOUT_MNEMONIC_FILE).toBe('/run/secrets/payout-mnemonic');
    expect(signer.GAS_TANK_KEY_FILE).toBe('/run/secrets/gas-tank-key');
    expect(signer).not.toHaveProperty('PAYOUT_MNEMONIC');
    expect(signer).not.toHaveProperty('GAS_TANK_KEY');
  });

  it('no other service is given a spending key or the payouts role', () => {
    expect(envOf(services.workers as Service).WORKERS_ROLES).toBe('all');
    for (const [name, s] of Object.entries(services)) {
      if (name === 'payout-signer') continue;
      for (const key of SPENDING) expect(envOf(s), `${name} ${key}`).not.toHaveProperty(key);
      expect(envOf(s).WORKERS_ROLES ?? '', name).not.toContain('payouts');
    }
  });

  it('Watchtower updates labelled application services only, and only reports on the payout signer', () => {
    const ENABLE = 'com.centurylinklabs.watchtower.enable';
    const MONITOR_ONLY = 'com.centurylinklabs.watchtower.monitor-only';
    const watchtower = services.watchtower as Service;
    expect(envOf(watchtower).WATCHTOWER_LABEL_ENABLE).toBe('true');
    expect(watchtower.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock');
    const enabled = Object.keys(services).filter(
      (name) => labelOf(services[name] as Service, ENABLE) === 'true',
    );
    expect(enabled.sort()).toEqual(AMANAT_SERVICES);
    for (const name of DATABASES) expect(labelOf(services[name] as Service, ENABLE), name).toBe('false');
    const monitorOnly = Object.keys(services).filter(
      (name) => labelOf(services[name] as Service, MONITOR_ONLY) === 'true',
    );
    expect(monitorOnly).toEqual(['payout-signer']);
    // The signer's image moves only when a person changes its own tag.
    expect(services['payout-signer']?.image).toContain('${PAYOUT_SIGNER_TAG');
    expect(services['payout-signer']?.image).not.toContain('AMANAT_TAG');
  });

  it('every variable the compose file reads or sets for Amanat is documented in .env.example', () => {
    const documented = new Set(
      [...read('.env.example').matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1] as string),
    );
    const strings: string[] = [];
    const walk = (value: unknown): void => {
      if (typeof value === 'string') strings.push(value);
      else if (value && typeof value === 'object') Object.values(value).forEach(walk);
    };
    walk(compose);
    const interpolated = strings.flatMap((s) => [...s.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]));
    // Variables set on Amanat's own containers; MALLOC_ARENA_MAX is glibc's, checked against the
    // process settings above.
    const set = AMANAT.flatMap((name) => Object.keys(envOf(services[name] as Service))).filter(
      (key) => key !== 'MALLOC_ARENA_MAX',
    );
    const missing = [...new Set([...interpolated, ...set])].filter((name) => !documented.has(name as string));
    expect(missing).toEqual([]);
  });

  it('the production .env template asks for everything Compose requires, and no spending key', () => {
    const template = [...read('deploy/env.production.example').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map(
      (m) => m[1] as string,
    );
    const required = [...composeText.matchAll(/\$\{([A-Z_][A-Z0-9_]*):\?/g)].map((m) => m[1] as string);
    expect(required.length).toBeGreaterThan(0);
    for (const name of new Set(required)) expect(template, name).toContain(name);
    for (const key of SPENDING) expect(template).not.toContain(key);
    const documented = read('.env.example');
    for (const name of template) expect(documented, name).toMatch(new RegExp(`^#?\\s*${name}=`, 'm'));
  });
});

describe('the image', () => {
  /** Dockerfile instructions with continuation lines joined and comments dropped. */
  const instructions = read('deploy/Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
  const stages = instructions.reduce<Array<typeof instructions>>((acc, i) => {
    if (i.keyword === 'FROM') acc.push([]);
    acc.at(-1)?.push(i);
    return acc;
  }, []);
  const runtime = stages.at(-1) ?? [];
  const dockerignore = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('is multi-stage, on the Node.js release the project pins, with only production dependencies at run time', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const lock = JSON.parse(read('package-lock.json'));
    const pinned = lock.packages['node_modules/node'].version as string;
    const base = instructions.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='));
    expect(base?.args).toBe(`NODE_IMAGE=node:${pinned}-bookworm-slim`);
    expect(runtime.some((i) => i.keyword === 'RUN' && /\bnpm ci\b.*--omit=dev/.test(i.args))).toBe(true);
    expect(runtime.some((i) => i.keyword === 'COPY' && i.args.includes('--from=build'))).toBe(true);
  });

  it('runs as a non-root user, with a healthcheck and the migrating entry point', () => {
    const user = runtime.filter((i) => i.keyword === 'USER').at(-1);
    expect(user?.args).toBeDefined();
    expect(['root', '0']).not.toContain(user?.args.split(':')[0]);
    expect(runtime.find((i) => i.keyword === 'HEALTHCHECK')?.args).toMatch(
      /CMD \["node", "-e", ".*\/healthz/,
    );
    expect(runtime.find((i) => i.keyword === 'ENTRYPOINT')?.args).toBe('["amanat-entrypoint"]');
    expect(
      runtime.some((i) => i.keyword === 'COPY' && i.args.endsWith('/usr/local/bin/amanat-entrypoint')),
    ).toBe(true);
  });

  it('has every file a service command runs (copied in, and let into the build context)', () => {
    const copied = runtime
      .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from'))
      .map((i) => i.args);
    for (const name of AMANAT_SERVICES) {
      const { entry } = PROCESSES[name] as (typeof PROCESSES)[string];
      const top = entry.split('/')[0] as string;
      expect(
        copied.some((args) => args === `${top} ${top}` || args.startsWith(`${entry} `)),
        entry,
      ).toBe(true);
      expect(dockerignore, entry).toContain(`!${top}/`);
    }
  });

  it('.dockerignore keeps local data, environment files and installed dependencies out', () => {
    // Docker applies the last matching line: everything is out, a few folders come back in, and these
    // come after them so nothing can bring them back.
    expect(dockerignore[0]).toBe('*');
    const lastInclude = dockerignore.findLastIndex((l) => l.startsWith('!'));
    for (const pattern of ['**/.data', '**/.env', '**/node_modules']) {
      expect(dockerignore.indexOf(pattern), pattern).toBeGreaterThan(lastInclude);
    }
    for (const include of dockerignore.filter((l) => l.startsWith('!'))) {
      expect(include).not.toMatch(/node_modules|\.env|\.data/);
    }
  });
});

describe('operations scripts', () => {
  const scripts = readdirSync(join(root, 'deploy'))
    .filter((f) => f.endsWith('.sh'))
    .map((f) => join('deploy', f));

  it('pass shellcheck', () => {
    expect(scripts).toContain('deploy/entrypoint.sh');
    const result = spawnSync('shellcheck', ['--shell=sh', ...scripts], { cwd: root, encoding: 'utf8' });
    expect(result.error).toBeUndefined();
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  describe('the entry point', () => {
    const { databaseUrl } = testEnv();
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    afterAll(async () => {
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pool.end();
    });

    const entrypoint = (args: string[], env: Record<string, string>) =>
      spawnSync('sh', ['deploy/entrypoint.sh', ...args], {
        cwd: root,
        encoding: 'utf8',
        // The image's node is on the PATH; here it is the project's.
        env: { PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, ...env },
      });
    const service = ['node', '-e', "console.log('service started'); process.exit(3)"];

    it('with --migrate, brings the schema up to date, then runs the service as itself', async () => {
      const result = entrypoint(['--migrate', ...service], {
        DATABASE_URL: databaseUrl,
        DATABASE_SCHEMA: schema,
      });
      expect(result.stdout).toMatch(/^applied: .+\nservice started\n$/);
      // exec: the service's own exit code, not the script's.
      expect(result.status).toBe(3);
      const migrations = readdirSync(join(root, 'platform', 'migrations')).filter((f) => f.endsWith('.sql'));
      const { rows } = await pool.query(`SELECT name FROM ${schema}.pgmigrations ORDER BY run_on, id`);
      expect(rows.map((r) => `${r.name}.sql`)).toEqual(migrations.sort());
      // A second start (a restart, an update) finds nothing to do and starts the service.
      const again = entrypoint(['--migrate', ...service], {
        DATABASE_URL: databaseUrl,
        DATABASE_SCHEMA: schema,
      });
      expect(again.stdout).toBe('already up to date\nservice started\n');
    });

    it('does not start the service when migrating fails', () => {
      const result = entrypoint(['--migrate', ...service], {
        DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
        DATABASE_SCHEMA: schema,
      });
      expect(result.stdout).not.toContain('service started');
      expect(result.stderr).toMatch(/^migrate: /);
      expect(result.status).toBe(1);
    });

    it('without --migrate, runs the service directly', () => {
      const result = entrypoint(service, {});
      expect(result.stdout).toBe('service started\n');
      expect(result.status).toBe(3);
    });
  });
});
