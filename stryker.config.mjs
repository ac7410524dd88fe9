// Mutation testing (`npm run test:mutation`): the core and the monitor codec,
// against the in-process tests that exercise them. Redis, gateway and browser
// tests stay out: they would take hours per run on a 2-core machine.
const tempDirName = '.stryker-tmp';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ['src/core/**/*.ts', '!src/core/**/*.test.ts', 'src/monitor/codec.ts'],
  testRunner: 'tap',
  tap: {
    // Quickest first: a mutant runs the files that reach it in this order, and stops at the first failure.
    testFiles: [
      'src/core/bounded-queue.test.ts',
      'src/core/subscription.test.ts',
      'src/core/fan-out.test.ts',
      'src/monitor/publish-helpers.test.ts',
      'src/monitor/redaction.test.ts',
      'src/backends/memory/memory-event-service.test.ts',
      'src/monitor/codec.test.ts',
    ],
    nodeArgs: ['--import', 'tsx'],
    // A failed test kills its file at once: most mutants die in the first seconds.
    forceBail: true,
  },
  // Per test file: a mutant runs only the files that reach it.
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 10_000,
  tempDirName,
  // A re-run tests only the mutants whose code or covering tests changed.
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false },
};
