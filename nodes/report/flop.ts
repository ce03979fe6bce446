/**
 * The one table of peak dense tensor throughput per GPU model, and the FLOP estimate built on it:
 *
 *     FLOP = peak dense BF16 FLOP/s (model) × tensor-pipe active fraction × seconds
 *
 * This is an estimate with a stated error bar, not a measurement: NVIDIA states that utilisation
 * metrics cannot be converted into FLOP. docs/flop-estimate.md gives the method, its assumptions
 * and its uncertainty. Pure.
 */

/** One row of {@link PEAK_TENSOR_TFLOPS}. */
export interface PeakEntry {
  /** Short family name, recorded in the report body. */
  family: string;
  /** Matches NVML product names of this family. Checked in table order, most specific first. */
  match: RegExp;
  /** Peak dense (not 2:4-sparse) tensor throughput, TFLOP/s, BF16 unless `precision` says otherwise. */
  tflops: number;
  precision: 'bf16' | 'fp16';
  source: string;
}

/**
 * Peak dense tensor throughput by GPU model, from NVIDIA's datasheets (the dense figure is half of
 * the "with sparsity" figure the datasheets headline). V100 has no BF16; its FP16 tensor peak is used.
 */
export const PEAK_TENSOR_TFLOPS: readonly PeakEntry[] = [
  {
    family: 'H100-PCIe',
    match: /\bH100\b.*\bPCIe\b/i,
    tflops: 756,
    precision: 'bf16',
    source: 'NVIDIA H100 datasheet: BF16 Tensor Core 1,513 TFLOPS with sparsity (PCIe)',
  },
  {
    family: 'H100-NVL',
    match: /\bH100 NVL\b/i,
    tflops: 835,
    precision: 'bf16',
    source: 'NVIDIA H100 datasheet: BF16 Tensor Core 1,671 TFLOPS with sparsity (NVL)',
  },
  {
    family: 'H100',
    match: /\bH100\b/i,
    tflops: 989,
    precision: 'bf16',
    source: 'NVIDIA H100 datasheet: BF16 Tensor Core 1,979 TFLOPS with sparsity (SXM)',
  },
  {
    family: 'H200-NVL',
    match: /\bH200 NVL\b/i,
    tflops: 835,
    precision: 'bf16',
    source: 'NVIDIA H200 datasheet: BF16 Tensor Core 1,671 TFLOPS with sparsity (NVL)',
  },
  {
    family: 'GH200',
    match: /\bGH200\b/i,
    tflops: 989,
    precision: 'bf16',
    source: 'NVIDIA GH200 datasheet: BF16 Tensor Core 1,979 TFLOPS with sparsity',
  },
  {
    family: 'H200',
    match: /\bH200\b/i,
    tflops: 989,
    precision: 'bf16',
    source: 'NVIDIA H200 datasheet: BF16 Tensor Core 1,979 TFLOPS with sparsity (SXM)',
  },
  {
    family: 'GB200',
    match: /\bGB200\b/i,
    tflops: 2500,
    precision: 'bf16',
    source: 'NVIDIA GB200 NVL72 datasheet: BF16 360 PFLOPS with sparsity for 72 GPUs',
  },
  {
    family: 'B200',
    match: /\bB200\b/i,
    tflops: 2250,
    precision: 'bf16',
    source: 'NVIDIA HGX B200 datasheet: BF16 4.5 PFLOPS with sparsity per GPU',
  },
  {
    family: 'A100',
    match: /\bA100\b/i,
    tflops: 312,
    precision: 'bf16',
    source: 'NVIDIA A100 datasheet: BF16 Tensor Core 312 TFLOPS (624 with sparsity)',
  },
  {
    family: 'A30',
    match: /\bA30\b/i,
    tflops: 165,
    precision: 'bf16',
    source: 'NVIDIA A30 datasheet: BF16 Tensor Core 165 TFLOPS (330 with sparsity)',
  },
  {
    family: 'V100',
    match: /\bV100\b/i,
    tflops: 125,
    precision: 'fp16',
    source: 'NVIDIA V100 datasheet: Tensor Performance 125 TFLOPS (SXM2, FP16)',
  },
];

/**
 * Fallback peak for a model the table does not know: the largest peak in the table, so an
 * unrecognised accelerator is never credited with less compute than any known one. The report
 * body marks such GPUs (`peak.family: "unknown"`); the table must be extended for new models.
 */
export const UNKNOWN_MODEL_TFLOPS = Math.max(...PEAK_TENSOR_TFLOPS.map((e) => e.tflops));

/** The peak used for one model. */
export interface Peak {
  family: string;
  /** FLOP per second. */
  flops: number;
}

/** Peak dense tensor FLOP/s for an NVML product name; unknown models get {@link UNKNOWN_MODEL_TFLOPS}. */
export function peakFor(model: string, table: readonly PeakEntry[] = PEAK_TENSOR_TFLOPS): Peak {
  for (const e of table)
    if (e.match.test(model)) return { family: e.family, flops: e.tflops * 1e12 };
  return { family: 'unknown', flops: UNKNOWN_MODEL_TFLOPS * 1e12 };
}

/**
 * Estimated dense FLOP: `peak × tensorActiveSeconds`, where `tensorActiveSeconds` is the time
 * integral of the tensor-active fraction (equivalently, mean tensor activity × seconds).
 * @throws {RangeError} when `tensorActiveSeconds` is negative or not finite
 */
export function estimateFlop(model: string, tensorActiveSeconds: number): number {
  if (!Number.isFinite(tensorActiveSeconds) || tensorActiveSeconds < 0) {
    throw new RangeError('estimateFlop: tensorActiveSeconds must be finite and ≥ 0');
  }
  return peakFor(model).flops * tensorActiveSeconds;
}
