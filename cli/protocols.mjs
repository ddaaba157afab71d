// What the unlearning benchmarks and the poc command run: the recipe that trains the
// original and the retrained models (bench/TRAINING.md), and the protocols of the other
// methods. Shared by bench/experiment.mjs, bench/forget_time.mjs and cli/poc.mjs (here, in
// cli/, because the package ships the command and not the benchmarks).

/** The original's recipe (and retrain's, which trains on D_r alone); epochs as given. */
export const RECIPE = { epochs: 10, batchSize: 64, lr: 0.05, schedule: 'cosine', weightDecay: 5e-4 };

// The protocols: what the methods other than retrain run (retrain always runs the
// original's recipe). 'full': 10 epochs on all of D_r. 'short': 2 epochs on a seeded
// 10 % sample of D_r, with per-method settings tuned on validation splits of the mlp and
// the lenet at 4 bits (bench/UNLEARNING.md, "Tuning"): RL and SalUn on half of D_r (random
// labels need the retain signal to outweigh them), BS and GA with a small step (mlp
// split; gradient ascent is unbounded, as in the SalUn codebase's GA runs); Q-MUL mixed
// with its retain-gradient scan capped at 8 batches, and the step sizes of Q-MUL, RL and
// SalUn (lenet split). `byRequest` holds what changes with the kind of request (the
// scenario's prefix): a whole class is forgotten best by Q-MUL sequential, and all three
// take other steps there (lenet class-wise split). One user's ids take the random
// forget set's settings. Explicit flags override a protocol.
export const PROTOCOLS = {
  full: { 'forget-epochs': '10', 'retain-sample': '1', options: { ga: { lr: 1e-4 } } },
  short: {
    'forget-epochs': '2',
    'retain-sample': '0.1',
    options: {
      ga: { lr: 1e-4 },
      qmul: { qmulMode: 'mixed', qmulRetainScanBatches: 8, lr: 0.02 },
      rl: { retainSample: 0.5, lr: 0.03 },
      salun: { retainSample: 0.5, lr: 0.05 },
      bs: { lr: 1e-4 },
    },
    byRequest: {
      class: { qmul: { qmulMode: 'sequential', lr: 0.03 }, rl: { lr: 0.05 }, salun: { lr: 0.05 } },
    },
  },
};

/** The protocol called `name`, or an error naming the ones there are. */
export function protocolNamed(name) {
  const protocol = PROTOCOLS[name];
  if (!protocol) throw new Error(`--protocol must be one of ${Object.keys(PROTOCOLS).join(', ')}, got '${name}'`);
  return protocol;
}

/** The kind of request a scenario is: its prefix (a bench's user:<n> is an ids request). */
const requestKind = (scenario) => {
  const kind = scenario.split(':')[0];
  return kind === 'user' ? 'ids' : kind;
};

/**
 * What `method` runs under `protocol` on `scenario`: the fraction of D_r it trains on
 * (a seeded sample, `retainSample`) and the rest of model.forget's options. `flags` are a
 * command line's overrides: `epochs`, `batchSize` (256), `retainSample` (every method's
 * default fraction) and
 * `methodOptions` ({method: options}, applied last; its retainSample key wins).
 */
export function forgetSettings(protocol, method, scenario, flags = {}) {
  const { retainSample = flags.retainSample ?? protocol['retain-sample'], ...options } = {
    ...protocol.options[method],
    ...protocol.byRequest?.[requestKind(scenario)]?.[method],
    ...flags.methodOptions?.[method],
  };
  const number = (name, value) => {
    if (!Number.isFinite(Number(value))) throw new Error(`${method}'s ${name} must be a number, got '${value}'`);
    return Number(value);
  };
  return {
    retainSample: number('retainSample', retainSample),
    options: { method, epochs: number('epochs', flags.epochs ?? protocol['forget-epochs']), batchSize: number('batchSize', flags.batchSize ?? 256), ...options },
  };
}
