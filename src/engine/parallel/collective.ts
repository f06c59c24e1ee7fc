/**
 * Collective operations between the replicas of one data-parallel training run (one worker thread each), over
 * shared memory: sums across replicas. Every replica adds the parts in replica order, so the result is
 * bit-identical in all of them, and replicas that start equal stay equal.
 *
 * While a collective is active in a thread (`withCollective`), the engine's batch-norm kernels add their
 * per-channel sums across the replicas that hold images (synchronised batch norm: statistics over the whole
 * batch, as with one thread), and the training step sums its gradients across all replicas.
 */

/** Shared memory of one exchange channel. */
export interface ChannelBuffers {
  /** Float64 values per replica and parity: the largest sum that can be exchanged. */
  capacity: number;
  /** Barrier state: [arrived, generation]. */
  control: SharedArrayBuffer;
  /** 2 parities x replicas x capacity float64 values. */
  data: SharedArrayBuffer;
}

/** The shared buffers of a collective, created once by the coordinating thread and sent to every replica. */
export interface CollectiveBuffers {
  replicas: number;
  /** Gradient sums: every replica takes part. */
  gradients: ChannelBuffers;
  /** Batch-norm statistics: the replicas holding images in this step take part. */
  statistics: ChannelBuffers;
}

const ARRIVED = 0;
const GENERATION = 1;

function channelBuffers(replicas: number, capacity: number): ChannelBuffers {
  return {
    capacity,
    control: new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT),
    data: new SharedArrayBuffer(2 * replicas * capacity * Float64Array.BYTES_PER_ELEMENT),
  };
}

/** Shared buffers for `replicas` replicas: gradients of up to `gradientCapacity` values, statistics of up to `statisticsCapacity`. */
export function createCollectiveBuffers(
  replicas: number,
  gradientCapacity: number,
  statisticsCapacity = 4096,
): CollectiveBuffers {
  return {
    replicas,
    gradients: channelBuffers(replicas, gradientCapacity),
    statistics: channelBuffers(replicas, statisticsCapacity),
  };
}

/** One channel: a barrier over replicas 0 .. count - 1 and a sum through double-buffered slots. */
class Channel {
  private readonly control: Int32Array;
  private readonly data: Float64Array;
  /** Alternates between the two halves of `data`, so one barrier per exchange suffices (see `sum`). */
  private parity = 0;

  constructor(
    private readonly rank: number,
    private readonly replicas: number,
    private readonly buffers: ChannelBuffers,
  ) {
    this.control = new Int32Array(buffers.control);
    this.data = new Float64Array(buffers.data);
  }

  private barrier(count: number): void {
    const generation = Atomics.load(this.control, GENERATION);
    if (Atomics.add(this.control, ARRIVED, 1) === count - 1) {
      Atomics.store(this.control, ARRIVED, 0);
      Atomics.add(this.control, GENERATION, 1);
      Atomics.notify(this.control, GENERATION);
      return;
    }
    while (Atomics.load(this.control, GENERATION) === generation) {
      Atomics.wait(this.control, GENERATION, generation);
    }
  }

  /**
   * Replaces `values` by their sum over replicas 0 .. count - 1, added in rank order. A replica writes into the
   * half of the buffer that the previous exchange did not use: by the time any replica passes the next
   * exchange's barrier, all have finished reading this one, so one barrier per exchange is enough.
   */
  sum(values: Float64Array | Float32Array, count: number): void {
    if (count <= 1) return;
    const n = values.length;
    const { capacity } = this.buffers;
    if (n > capacity) throw new Error(`collective sum of ${n} values exceeds its capacity ${capacity}`);
    const base = this.parity * this.replicas * capacity;
    this.parity ^= 1;
    this.data.set(values, base + this.rank * capacity);
    this.barrier(count);
    values.set(this.data.subarray(base, base + n));
    for (let r = 1; r < count; r++) {
      const offset = base + r * capacity;
      for (let i = 0; i < n; i++) values[i] += this.data[offset + i];
    }
  }
}

export class Collective {
  private readonly gradientChannel: Channel;
  private readonly statisticsChannel: Channel;
  /** Replicas holding images in the current step: ranks 0 .. participants - 1. */
  participants: number;

  constructor(
    readonly rank: number,
    readonly buffers: CollectiveBuffers,
  ) {
    if (rank < 0 || rank >= buffers.replicas) throw new Error(`replica rank ${rank} out of range`);
    this.gradientChannel = new Channel(rank, buffers.replicas, buffers.gradients);
    this.statisticsChannel = new Channel(rank, buffers.replicas, buffers.statistics);
    this.participants = buffers.replicas;
  }

  get replicas(): number {
    return this.buffers.replicas;
  }

  /** Sums gradients (or any values) over every replica. */
  sumAll(values: Float64Array | Float32Array): void {
    this.gradientChannel.sum(values, this.buffers.replicas);
  }

  /** Sums per-channel statistics over the replicas that hold images in this step. */
  sumStatistics(values: Float64Array | Float32Array): void {
    this.statisticsChannel.sum(values, this.participants);
  }
}

let active: Collective | null = null;

/** The collective of this thread's replica while a data-parallel step runs, else null. */
export function activeCollective(): Collective | null {
  return active;
}

/** Runs `fn` with `collective` active (batch norm and gradients summed across replicas). */
export function withCollective<T>(collective: Collective, fn: () => T): T {
  const previous = active;
  active = collective;
  try {
    return fn();
  } finally {
    active = previous;
  }
}
