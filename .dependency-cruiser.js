/**
 * The boundaries of src/ (README "Code layout"), checked by `npm run lint`. Dependencies point one
 * way: cli → commands (and export.ts, import.ts) → workers → jobs → auth0 + pipeline + relations +
 * report (and lazy); config.ts, errors.ts, log.ts and terminal.ts serve every layer; the simulator
 * stands apart.
 * Each rule's comment is what `npm run lint` prints when an import breaks it.
 * test/lint/boundaries.test.ts proves every rule catches what it names.
 */
const COMMANDS = '^src/(cli\\.ts$|export\\.ts$|import\\.ts$|commands/)';
const SHARED = '^src/(config|errors|log|terminal)\\.ts$';
// Imports erased at compile time: `import type`, `export type`, `import('…').T` in a type.
const TYPES = ['type-only', 'type-import'];

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment:
        'An import cycle (the modules are listed in order). Move what both sides need into a module ' +
        'below them both (a types file beside the lower one), so one of them no longer imports the other.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'pure-stages',
      severity: 'error',
      comment:
        'src/pipeline/ and src/relations/ are pure stages: of our code they import only types ' +
        '(`import type`), nothing at run time. Take the value as a parameter or option, or move it into the stage.',
      from: { path: '^src/(pipeline|relations)/' },
      to: { path: '^src/', pathNot: '^src/$1/', dependencyTypesNot: TYPES },
    },
    {
      name: 'sim-independent',
      severity: 'error',
      comment:
        'The simulator is an independent check of the tool: src/sim/ imports nothing of src/ outside it, ' +
        'not even types. Keep its own copy in src/sim/ with a one-line comment saying it is a deliberate copy.',
      from: { path: '^src/sim/' },
      to: { path: '^src/', pathNot: '^src/sim/' },
    },
    {
      name: 'sim-only-from-commands',
      severity: 'error',
      comment:
        'Only the `sim` and `demo` commands (src/commands/) start the simulator; the tool itself never ' +
        'depends on it. Tests and benchmarks may import it.',
      from: { path: '^src/', pathNot: '^src/(sim|commands)/' },
      to: { path: '^src/sim/' },
    },
    {
      name: 'workers-no-redis',
      severity: 'error',
      comment:
        'Redis belongs to the run store: workers reach it through the Runtime (rt.store, rt.queue). ' +
        'Add the Redis operation to the run store (src/jobs/store/) and call it from the processor.',
      from: { path: '^src/workers/' },
      to: { path: '(^|/)node_modules/ioredis/' },
    },
    {
      name: 'commands-on-top',
      severity: 'error',
      comment:
        'src/cli.ts, src/commands/, src/export.ts and src/import.ts are where the data flow starts; ' +
        'nothing below them imports them. Move the shared part down (run logic to src/jobs/, output ' +
        'to src/report/) and import it from the command.',
      from: { path: '^src/', pathNot: COMMANDS },
      to: { path: COMMANDS },
    },
    {
      name: 'workers-from-commands-only',
      severity: 'error',
      comment:
        'src/workers/ holds the thin BullMQ processors, and only commands start them. What src/jobs/ ' +
        'or a layer below needs belongs in src/jobs/, which the processors call.',
      from: { path: '^src/', pathNot: `${COMMANDS}|^src/workers/` },
      to: { path: '^src/workers/' },
    },
    {
      name: 'jobs-from-above-only',
      severity: 'error',
      comment:
        'src/jobs/ (queues, run store, flow, batch lifecycle) sits above auth0/, pipeline/, relations/, ' +
        'report/ and lazy/: they must not import it, not even types. Pass them what they need, or move ' +
        'the shared type down into the lower folder.',
      from: { path: '^src/', pathNot: `${COMMANDS}|^src/(workers|jobs)/` },
      to: { path: '^src/jobs/' },
    },
    {
      name: 'auth0-at-the-bottom',
      severity: 'error',
      comment:
        'src/auth0/ only speaks HTTP to a tenant: at run time it imports, of our code, only ' +
        'src/config.ts, src/errors.ts and src/log.ts (and src/terminal.ts). Code that combines ' +
        'tenant calls with files, runs or stages belongs in src/jobs/.',
      from: { path: '^src/auth0/' },
      to: { path: '^src/', pathNot: `^src/auth0/|${SHARED}`, dependencyTypesNot: TYPES },
    },
    {
      name: 'shared-modules-import-none',
      severity: 'error',
      comment:
        'src/config.ts, src/errors.ts, src/log.ts and src/terminal.ts are imported by every layer, so ' +
        'at run time they import none of it (only each other). Put the code that needs a layer in that layer.',
      from: { path: SHARED },
      to: { path: '^src/', pathNot: SHARED, dependencyTypesNot: TYPES },
    },
    {
      name: 'no-dev-dependency-in-src',
      severity: 'error',
      comment:
        'src/ is what ships (dist/, the image), where devDependencies are not installed. Move the ' +
        'package to dependencies, or the code to test/ or bench/.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: TYPES },
    },
    {
      name: 'resolvable',
      severity: 'error',
      comment:
        'This import could not be resolved, so no rule can check it: use a relative path ending in ' +
        '.js (NodeNext), or a package listed in package.json.',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are kept in the graph (and marked) so the rules above can tell them apart.
    tsPreCompilationDeps: true,
  },
};
