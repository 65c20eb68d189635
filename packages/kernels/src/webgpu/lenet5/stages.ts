// The WGSL of the fused LeNet-5 pass, one stage per dispatch. Legend, NHWC, one image:
//   x 32x32x1 --C1 5x5, tanh--> a1 28x28x6 --S2 avg 2x2--> p2 14x14x6 --C3 5x5, tanh--> a3 10x10x16
//   --S4 avg 2x2--> p4 5x5x16 = 400 --C5 (dense on p4), tanh--> a5 120 --F6, tanh--> a6 84 --> logits 10
//
// Every stage runs over the whole batch at once, an invocation per (image, small block of outputs),
// and each invocation keeps a block of outputs in registers (four channels as a vec4, or the four
// pixels of a pooling window), so that one load feeds several multiply-adds: a software GPU
// (SwiftShader) is bound by loads, a hardware one by the dispatches' count. The weight gradients of
// C1 and C3 sum over every pixel of every image: invocations per (weight row, chunk of images) sum
// their chunk, and the last stage sums the chunks, with the dense layers' outer products and the loss.
// C3's input gradient is a dense product followed by a gather (dcol, then dz1) rather than a correlation
// over a zero-padded map, which would spend half its multiply-adds on the padding.
// All sums are f32. Nothing uses workgroup memory, so WebGPU's default limits hold everywhere.
import { LENET5 as D, floatsOf } from '../../lenet5/dimensions';
import {
  CONV_PARAM_FLOATS,
  DZ1_CHANNELS,
  MAP_FLOATS,
  type MapName,
  PARAM_FLOATS,
  PARAM_OFFSETS,
  PASS_UNIFORMS_WGSL,
  type PassLayout,
} from './layout';

/** Invocations per workgroup of every stage. */
export const INVOCATIONS = 64;

/** A buffer a stage binds, by its role; the packed parameters may be bound twice, as f32 and as vec4. */
export type BufferName = MapName | 'x' | 'labels' | 'params' | 'partials' | 'gradients' | 'logits';

interface Binding {
  buffer: BufferName;
  /** The name in WGSL, when not the buffer's. */
  as?: string;
  type: 'f32' | 'vec4<f32>' | 'i32';
  write?: boolean;
}

/** One dispatch: its WGSL, what it binds (bindings 1, 2, ...; 0 is the Pass uniforms) and its size. */
export interface Stage {
  name: string;
  bindings: Binding[];
  /** Whether it reads the Pass uniforms: WebGPU's 'auto' layout leaves out a binding the shader never uses. */
  usesPass: boolean;
  /** Invocations for a batch (the stage returns early past them). */
  invocations(layout: PassLayout): number;
  wgsl: string;
}

const K = D.kernel;
const [C1, C3, N5, N6, N7] = [D.a1.c, D.a3.c, D.c5Units, D.f6Units, D.classes];
const X = floatsOf(D.x);
const A1 = floatsOf(D.a1);
const P2 = floatsOf(D.p2);
const A3 = floatsOf(D.a3);
const P4 = floatsOf(D.p4);
const W = {
  w1: PARAM_OFFSETS['C1/kernel'],
  b1: PARAM_OFFSETS['C1/bias'],
  w3: PARAM_OFFSETS['C3/kernel'],
  b3: PARAM_OFFSETS['C3/bias'],
  w5: PARAM_OFFSETS['C5/kernel'],
  b5: PARAM_OFFSETS['C5/bias'],
  w6: PARAM_OFFSETS['F6/kernel'],
  b6: PARAM_OFFSETS['F6/bias'],
  w7: PARAM_OFFSETS['output/kernel'],
  b7: PARAM_OFFSETS['output/bias'],
};
/** Offsets in vec4s, for the vec4 view of the packed parameters. */
const V = (floats: number): number => {
  if (floats % 4 !== 0) throw new Error(`a vec4 read at float ${floats}`);
  return floats / 4;
};
if (C3 % 4 !== 0 || N5 % 4 !== 0 || N6 % 4 !== 0 || C1 > 8) {
  throw new Error('The WGSL LeNet-5 stages read C3, C5 and F6 outputs as whole vec4s and C1 as two.');
}

const PARAMS: Binding = { buffer: 'params', type: 'f32' };
const PARAMS_V: Binding = { buffer: 'params', as: 'paramsV', type: 'vec4<f32>' };

// tanh from one exp, exact to about 1e-7 absolutely and never overflowing (WGSL's tanh may be
// computed as sinh/cosh, which overflows for |v| > 89).
const TANH_WGSL = `fn tanh4(v: vec4<f32>) -> vec4<f32> {
  let t = exp(-2.0 * abs(v));
  let r = (1.0 - t) / (1.0 + t);
  return select(r, -r, v < vec4<f32>(0.0));
}`;

function stage(
  name: string,
  bindings: Binding[],
  invocations: (layout: PassLayout) => number,
  body: string,
): Stage {
  const declarations = bindings.map(
    (b, i) =>
      `@group(0) @binding(${i + 1}) var<storage, ${b.write ? 'read_write' : 'read'}> ${b.as ?? b.buffer}: array<${b.type}>;`,
  );
  const usesPass = body.includes('dims.');
  const wgsl = `${usesPass ? `${PASS_UNIFORMS_WGSL}\n@group(0) @binding(0) var<uniform> dims: Pass;` : ''}
${declarations.join('\n')}
${TANH_WGSL}

@compute @workgroup_size(${INVOCATIONS})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let id = gid.x + gid.y * groups.x * ${INVOCATIONS}u;
${body}
}
`;
  return { name, bindings, usesPass, invocations, wgsl };
}

const perImage = (count: number) => (layout: PassLayout) => layout.batch * count;
const read = (buffer: BufferName, type: Binding['type'] = 'f32', as?: string): Binding => ({
  buffer,
  type,
  ...(as ? { as } : {}),
});
const write = (buffer: BufferName, type: Binding['type'] = 'f32'): Binding => ({ buffer, type, write: true });

/** C1, tanh and S2: an invocation per S2 pixel, all 6 channels at the window's 4 pixels. */
function c1Stage(training: boolean): Stage {
  const positions = ['00', '01', '10', '11'];
  return stage(
    training ? 'lenet5-c1-training' : 'lenet5-c1',
    [read('x'), PARAMS, write('p2'), ...(training ? [write('a1')] : [])],
    perImage(P2 / C1),
    `  if (id >= dims.batch * ${P2 / C1}u) { return; }
  let img = id / ${P2 / C1}u; let pixel = id % ${P2 / C1}u;
  let py = pixel / ${D.p2.w}u; let px = pixel % ${D.p2.w}u;
  let biasA = vec4<f32>(params[${W.b1}u], params[${W.b1 + 1}u], params[${W.b1 + 2}u], params[${W.b1 + 3}u]);
  let biasB = vec4<f32>(params[${W.b1 + 4}u], params[${W.b1 + 5}u], 0.0, 0.0);
  ${positions.map((p) => `var s${p}A = biasA; var s${p}B = biasB;`).join(' ')}
  let origin = img * ${X}u + 2u * py * ${D.x.w}u + 2u * px;
  for (var kh = 0u; kh < ${K}u; kh++) {
    for (var kw = 0u; kw < ${K}u; kw++) {
      let t = ${W.w1}u + (kh * ${K}u + kw) * ${C1}u;
      let wA = vec4<f32>(params[t], params[t + 1u], params[t + 2u], params[t + 3u]);
      let wB = vec4<f32>(params[t + 4u], params[t + 5u], 0.0, 0.0);
      let r = origin + kh * ${D.x.w}u + kw;
      let x00 = x[r]; let x01 = x[r + 1u]; let x10 = x[r + ${D.x.w}u]; let x11 = x[r + ${D.x.w + 1}u];
      ${positions.map((p) => `s${p}A += x${p} * wA; s${p}B += x${p} * wB;`).join(' ')}
    }
  }
  var poolA = vec4<f32>(0.0); var poolB = vec4<f32>(0.0);
  ${positions
    .map(
      (p) => `{
    let aA = tanh4(s${p}A); let aB = tanh4(s${p}B);
    poolA += aA; poolB += aB;
    ${
      training
        ? `let at = img * ${A1}u + ((2u * py + ${p[0]}u) * ${D.a1.w}u + 2u * px + ${p[1]}u) * ${C1}u;
    a1[at] = aA.x; a1[at + 1u] = aA.y; a1[at + 2u] = aA.z; a1[at + 3u] = aA.w; a1[at + 4u] = aB.x; a1[at + 5u] = aB.y;`
        : ''
    }
  }`,
    )
    .join('\n  ')}
  let out = img * ${P2}u + pixel * ${C1}u;
  p2[out] = 0.25 * poolA.x; p2[out + 1u] = 0.25 * poolA.y; p2[out + 2u] = 0.25 * poolA.z;
  p2[out + 3u] = 0.25 * poolA.w; p2[out + 4u] = 0.25 * poolB.x; p2[out + 5u] = 0.25 * poolB.y;`,
  );
}

/** C3, tanh and S4: an invocation per S4 pixel, all 16 channels at the window's 4 pixels. */
function c3Stage(training: boolean): Stage {
  const groups = C3 / 4;
  const count = P4 / C3;
  const positions = ['00', '01', '10', '11'];
  const g = Array.from({ length: groups }, (_, i) => i);
  const offset = (p: string) => (Number(p[0]) * D.p2.w + Number(p[1])) * C1;
  return stage(
    training ? 'lenet5-c3-training' : 'lenet5-c3',
    [read('p2'), PARAMS_V, write('p4', 'vec4<f32>'), ...(training ? [write('a3', 'vec4<f32>')] : [])],
    perImage(count),
    `  if (id >= dims.batch * ${count}u) { return; }
  let img = id / ${count}u; let pixel = id % ${count}u;
  let py = pixel / ${D.p4.w}u; let px = pixel % ${D.p4.w}u;
  ${g.map((i) => `let bias${i} = paramsV[${V(W.b3) + i}u];`).join(' ')}
  ${positions.map((p) => g.map((i) => `var s${p}_${i} = bias${i};`).join(' ')).join('\n  ')}
  for (var kh = 0u; kh < ${K}u; kh++) {
    for (var kw = 0u; kw < ${K}u; kw++) {
      let src = img * ${P2}u + ((2u * py + kh) * ${D.p2.w}u + 2u * px + kw) * ${C1}u;
      let t = ${V(W.w3)}u + (kh * ${K}u + kw) * ${(C1 * C3) / 4}u;
      for (var ci = 0u; ci < ${C1}u; ci++) {
        ${g.map((i) => `let w${i} = paramsV[t + ci * ${groups}u + ${i}u];`).join(' ')}
        ${positions
          .map(
            (p) =>
              `{ let v = p2[src + ${offset(p)}u + ci]; ${g.map((i) => `s${p}_${i} += v * w${i};`).join(' ')} }`,
          )
          .join('\n        ')}
      }
    }
  }
  ${g
    .map(
      (i) => `{
    let a00 = tanh4(s00_${i}); let a01 = tanh4(s01_${i}); let a10 = tanh4(s10_${i}); let a11 = tanh4(s11_${i});
    ${
      training
        ? `let at = img * ${A3 / 4}u + (2u * py * ${D.a3.w}u + 2u * px) * ${groups}u + ${i}u;
    a3[at] = a00; a3[at + ${groups}u] = a01; a3[at + ${D.a3.w * groups}u] = a10; a3[at + ${(D.a3.w + 1) * groups}u] = a11;`
        : ''
    }
    p4[img * ${P4 / 4}u + pixel * ${groups}u + ${i}u] = 0.25 * (a00 + a01 + a10 + a11);
  }`,
    )
    .join('\n  ')}`,
  );
}

/** A dense layer and tanh: an invocation per (image, 4 outputs). */
function denseStage(
  name: string,
  input: MapName,
  inputs: number,
  output: MapName,
  outputs: number,
  kernel: number,
  bias: number,
): Stage {
  const groups = outputs / 4;
  return stage(
    name,
    [read(input), PARAMS_V, write(output, 'vec4<f32>')],
    perImage(groups),
    `  if (id >= dims.batch * ${groups}u) { return; }
  let img = id / ${groups}u; let group = id % ${groups}u;
  var s = paramsV[${V(bias)}u + group];
  let src = img * ${inputs}u;
  for (var i = 0u; i < ${inputs}u; i++) { s += ${input}[src + i] * paramsV[${V(kernel)}u + i * ${groups}u + group]; }
  ${output}[img * ${groups}u + group] = tanh4(s);`,
  );
}

/** The output layer; when training also softmax cross-entropy, d logits and F6's pre-activation gradient. */
function headStage(training: boolean): Stage {
  const logits = `  if (id >= dims.batch) { return; }
  let img = id;
  var z: array<f32, ${N7}>;
  for (var j = 0u; j < ${N7}u; j++) {
    var s = params[${W.b7}u + j];
    for (var i = 0u; i < ${N6}u; i++) { s += a6[img * ${N6}u + i] * params[${W.w7}u + i * ${N7}u + j]; }
    z[j] = s;
  }`;
  if (!training) {
    return stage(
      'lenet5-logits',
      [read('a6'), PARAMS, write('logits')],
      perImage(1),
      `${logits}
  for (var j = 0u; j < ${N7}u; j++) { logits[img * ${N7}u + j] = z[j]; }`,
    );
  }
  // A label outside 0-9 is no class, as in crossEntropy: no loss, and d logits = softmax / n.
  return stage(
    'lenet5-head-training',
    [read('a6'), PARAMS, read('labels', 'i32'), write('head'), write('dz6')],
    perImage(1),
    `${logits}
  var top = z[0];
  for (var j = 1u; j < ${N7}u; j++) { top = max(top, z[j]); }
  var total = 0.0;
  for (var j = 0u; j < ${N7}u; j++) { total += exp(z[j] - top); }
  let label = labels[img];
  let valid = label >= 0 && label < ${N7};
  var d: array<f32, ${N7}>;
  for (var j = 0u; j < ${N7}u; j++) {
    d[j] = (exp(z[j] - top) / total - select(0.0, 1.0, valid && u32(label) == j)) / f32(dims.batch);
    head[img * ${N7}u + j] = d[j];
  }
  head[dims.batch * ${N7}u + img] = select(0.0, top + log(total) - z[u32(clamp(label, 0, ${N7 - 1}))], valid);
  for (var i = 0u; i < ${N6}u; i++) {
    var s = 0.0;
    for (var j = 0u; j < ${N7}u; j++) { s += d[j] * params[${W.w7}u + i * ${N7}u + j]; }
    let a = a6[img * ${N6}u + i];
    dz6[img * ${N6}u + i] = s * (1.0 - a * a);
  }`,
  );
}

/**
 * The gradient at a dense layer's input, times tanh's derivative there: an invocation per
 * (image, 4 inputs), dotting the output gradient with 4 kernel rows, a vec4 at a time.
 */
function denseBackwardStage(
  name: string,
  dz: MapName,
  outputs: number,
  activation: MapName,
  inputs: number,
  kernel: number,
  result: MapName,
): Stage {
  const groups = inputs / 4;
  const columns = outputs / 4;
  return stage(
    name,
    [read(dz, 'vec4<f32>'), read(activation, 'vec4<f32>'), PARAMS_V, write(result, 'vec4<f32>')],
    perImage(groups),
    `  if (id >= dims.batch * ${groups}u) { return; }
  let img = id / ${groups}u; let group = id % ${groups}u;
  let row = ${V(kernel)}u + group * ${4 * columns}u;
  var s = vec4<f32>(0.0);
  for (var k = 0u; k < ${columns}u; k++) {
    let d = ${dz}[img * ${columns}u + k];
    s += vec4<f32>(dot(d, paramsV[row + k]), dot(d, paramsV[row + ${columns}u + k]),
      dot(d, paramsV[row + ${2 * columns}u + k]), dot(d, paramsV[row + ${3 * columns}u + k]));
  }
  let a = ${activation}[img * ${groups}u + group];
  ${result}[img * ${groups}u + group] = s * (vec4<f32>(1.0) - a * a);`,
  );
}

/** p4's gradient (C5's input gradient) through S4 and C3's tanh: dz3, 4 channels at a time. */
function dz3Stage(): Stage {
  const groups = C3 / 4;
  const count = P4 / 4;
  const columns = N5 / 4;
  return stage(
    'lenet5-dz3',
    [read('dz5', 'vec4<f32>'), read('a3', 'vec4<f32>'), PARAMS_V, write('dz3', 'vec4<f32>')],
    perImage(count),
    `  if (id >= dims.batch * ${count}u) { return; }
  let img = id / ${count}u; let r = id % ${count}u;
  let group = r % ${groups}u; let pixel = r / ${groups}u;
  let py = pixel / ${D.p4.w}u; let px = pixel % ${D.p4.w}u;
  let row = ${V(W.w5)}u + r * ${4 * columns}u;
  var s = vec4<f32>(0.0);
  for (var k = 0u; k < ${columns}u; k++) {
    let d = dz5[img * ${columns}u + k];
    s += vec4<f32>(dot(d, paramsV[row + k]), dot(d, paramsV[row + ${columns}u + k]),
      dot(d, paramsV[row + ${2 * columns}u + k]), dot(d, paramsV[row + ${3 * columns}u + k]));
  }
  let d = 0.25 * s;
  for (var dy = 0u; dy < 2u; dy++) {
    for (var dx = 0u; dx < 2u; dx++) {
      let y = 2u * py + dy; let xx = 2u * px + dx;
      let a = a3[img * ${A3 / 4}u + (y * ${D.a3.w}u + xx) * ${groups}u + group];
      dz3[${dz3At('img', 'y', 'xx')} + group] = d * (vec4<f32>(1.0) - a * a);
    }
  }`,
  );
}

/** The first vec4 of pixel (y, x) of an image's dz3, as a WGSL expression of WGSL expressions. */
function dz3At(img: string, y: string, x: string): string {
  return `(${img} * ${A3 / 4}u + ((${y}) * ${D.a3.w}u + ${x}) * ${C3 / 4}u)`;
}

/**
 * C3's input gradient in two stages, so that no multiply-add meets the zeros outside dz3. First a dense
 * product: for each C3 output pixel and each tap, that pixel's 16 dz3 values through the tap's filter
 * (dcol, 6 input channels in two vec4s). An invocation takes 4 pixels, so that each filter read serves 4.
 */
function dcolStage(): Stage {
  const groups = C3 / 4;
  const perInvocation = 4;
  const count = A3 / C3 / perInvocation;
  const pixels = Array.from({ length: perInvocation }, (_, k) => k);
  const taps = K * K;
  const dot = (k: number, ci: number) =>
    Array.from({ length: groups }, (_, g) => `dot(d${k}_${g}, w${ci}_${g})`).join(' + ');
  return stage(
    'lenet5-dcol',
    [read('dz3', 'vec4<f32>'), PARAMS_V, write('dcol', 'vec4<f32>')],
    perImage(count),
    `  if (id >= dims.batch * ${count}u) { return; }
  let img = id / ${count}u; let first = (id % ${count}u) * ${perInvocation}u;
  ${pixels
    .map(
      (k) => `let o${k} = first + ${k}u;
  let at${k} = img * ${A3 / 4}u + o${k} * ${C3 / 4}u;
  ${Array.from({ length: groups }, (_, g) => `let d${k}_${g} = dz3[at${k} + ${g}u];`).join(' ')}
  let out${k} = (img * ${A3 / C3}u + o${k}) * ${taps * 2}u;`,
    )
    .join('\n  ')}
  for (var tap = 0u; tap < ${taps}u; tap++) {
    let t = ${V(W.w3)}u + tap * ${(C1 * C3) / 4}u;
    ${Array.from({ length: C1 }, (_, ci) =>
      Array.from({ length: groups }, (_, g) => `let w${ci}_${g} = paramsV[t + ${ci * groups + g}u];`).join(
        ' ',
      ),
    ).join('\n    ')}
    ${pixels
      .map(
        (k) => `dcol[out${k} + 2u * tap] = vec4<f32>(${[0, 1, 2, 3].map((ci) => dot(k, ci)).join(', ')});
    dcol[out${k} + 2u * tap + 1u] = vec4<f32>(${dot(k, 4)}, ${dot(k, 5)}, 0.0, 0.0);`,
      )
      .join('\n    ')}
  }`,
  );
}

/**
 * Then, at each S2 pixel, the sum of dcol over the taps that reach it from inside dz3 (a gather), through
 * S2 and C1's tanh: dz1, 6 channels in two vec4s.
 */
function dz1Stage(): Stage {
  const count = P2 / C1;
  return stage(
    'lenet5-dz1',
    [read('dcol', 'vec4<f32>'), read('a1'), write('dz1', 'vec4<f32>')],
    perImage(count),
    `  if (id >= dims.batch * ${count}u) { return; }
  let img = id / ${count}u; let pixel = id % ${count}u;
  let py = pixel / ${D.p2.w}u; let px = pixel % ${D.p2.w}u;
  var sA = vec4<f32>(0.0); var sB = vec4<f32>(0.0);
  for (var kh = u32(max(0, i32(py) - ${D.a3.h - 1})); kh <= min(${K - 1}u, py); kh++) {
    for (var kw = u32(max(0, i32(px) - ${D.a3.w - 1})); kw <= min(${K - 1}u, px); kw++) {
      let at = ((img * ${A3 / C3}u + (py - kh) * ${D.a3.w}u + px - kw) * ${K * K}u + kh * ${K}u + kw) * 2u;
      sA += dcol[at]; sB += dcol[at + 1u];
    }
  }
  let dA = 0.25 * sA; let dB = 0.25 * sB;
  for (var dy = 0u; dy < 2u; dy++) {
    for (var dx = 0u; dx < 2u; dx++) {
      let position = (2u * py + dy) * ${D.a1.w}u + 2u * px + dx;
      let src = img * ${A1}u + position * ${C1}u;
      let aA = vec4<f32>(a1[src], a1[src + 1u], a1[src + 2u], a1[src + 3u]);
      let aB = vec4<f32>(a1[src + 4u], a1[src + 5u], 0.0, 0.0);
      let to = img * ${MAP_FLOATS.dz1 / 4}u + position * ${DZ1_CHANNELS / 4}u;
      dz1[to] = dA * (vec4<f32>(1.0) - aA * aA);
      dz1[to + 1u] = dB * (vec4<f32>(1.0) - aB * aB);
    }
  }`,
  );
}

/** Tasks of the conv partial-sum stage, per chunk: C1's 5 filter rows and its bias, C3's 30 (row, input channel) pairs and its bias. */
const C1_TASKS = K + 1;
const C3_TASKS = K * C1 + 1;
const CONV_TASKS = C1_TASKS + C3_TASKS;

/**
 * Per chunk of images, the sums behind C1's and C3's weight and bias gradients. An invocation takes a
 * filter row (5 taps) and slides along each map row, keeping the last 5 inputs in registers, so that
 * one new input and one output-gradient read serve 5 taps.
 */
function convPartialsStage(): Stage {
  const groups = C3 / 4;
  const dz1Pixel = DZ1_CHANNELS / 4;
  const taps = Array.from({ length: K }, (_, kw) => kw);
  const c3Taps = taps.flatMap((kw) => Array.from({ length: groups }, (_, g) => `s${kw}_${g}`));
  const writeFloats = (at: string, value: string, floats: number) =>
    Array.from({ length: floats }, (_, i) => `partials[${at} + ${i}u] = ${value}.${'xyzw'[i % 4]};`).join(
      ' ',
    );
  return stage(
    'lenet5-conv-partials',
    [read('x'), read('dz1', 'vec4<f32>'), read('p2'), read('dz3', 'vec4<f32>'), write('partials')],
    (layout) => layout.chunks * CONV_TASKS,
    `  if (id >= dims.chunks * ${CONV_TASKS}u) { return; }
  let chunk = id / ${CONV_TASKS}u; let task = id % ${CONV_TASKS}u;
  let first = chunk * dims.imagesPerChunk;
  let last = min(first + dims.imagesPerChunk, dims.batch);
  let out = chunk * ${CONV_PARAM_FLOATS}u;
  if (task < ${K}u) {
    // Row kh of C1's filter, all 6 channels of its 5 taps.
    let kh = task;
    ${taps.map((kw) => `var sA${kw} = vec4<f32>(0.0); var sB${kw} = vec4<f32>(0.0);`).join(' ')}
    for (var img = first; img < last; img++) {
      for (var y = 0u; y < ${D.a1.h}u; y++) {
        let row = img * ${X}u + (y + kh) * ${D.x.w}u;
        let d = img * ${MAP_FLOATS.dz1 / 4}u + y * ${D.a1.w * dz1Pixel}u;
        var v0 = x[row]; var v1 = x[row + 1u]; var v2 = x[row + 2u]; var v3 = x[row + 3u];
        for (var xx = 0u; xx < ${D.a1.w}u; xx++) {
          let v4 = x[row + xx + 4u];
          let dA = dz1[d + xx * ${dz1Pixel}u]; let dB = dz1[d + xx * ${dz1Pixel}u + 1u];
          ${taps.map((kw) => `sA${kw} += v${kw} * dA; sB${kw} += v${kw} * dB;`).join(' ')}
          v0 = v1; v1 = v2; v2 = v3; v3 = v4;
        }
      }
    }
    ${taps
      .map(
        (kw) =>
          `{ let at = out + ${W.w1}u + (kh * ${K}u + ${kw}u) * ${C1}u; ${writeFloats('at', `sA${kw}`, 4)} partials[at + 4u] = sB${kw}.x; partials[at + 5u] = sB${kw}.y; }`,
      )
      .join('\n    ')}
    return;
  }
  if (task == ${K}u) {
    var sA = vec4<f32>(0.0); var sB = vec4<f32>(0.0);
    for (var img = first; img < last; img++) {
      for (var p = 0u; p < ${D.a1.h * D.a1.w}u; p++) {
        sA += dz1[img * ${MAP_FLOATS.dz1 / 4}u + p * ${dz1Pixel}u]; sB += dz1[img * ${MAP_FLOATS.dz1 / 4}u + p * ${dz1Pixel}u + 1u];
      }
    }
    let at = out + ${W.b1}u;
    ${writeFloats('at', 'sA', 4)} partials[at + 4u] = sB.x; partials[at + 5u] = sB.y;
    return;
  }
  if (task < ${C1_TASKS + K * C1}u) {
    // Row kh of C3's filter for input channel ci: 5 taps, 16 output channels each.
    let q = task - ${C1_TASKS}u;
    let kh = q / ${C1}u; let ci = q % ${C1}u;
    ${c3Taps.map((name) => `var ${name} = vec4<f32>(0.0);`).join(' ')}
    for (var img = first; img < last; img++) {
      for (var y = 0u; y < ${D.a3.h}u; y++) {
        let row = img * ${P2}u + (y + kh) * ${D.p2.w * C1}u + ci;
        let d = ${dz3At('img', 'y', '0u')};
        var v0 = p2[row]; var v1 = p2[row + ${C1}u]; var v2 = p2[row + ${2 * C1}u]; var v3 = p2[row + ${3 * C1}u];
        for (var xx = 0u; xx < ${D.a3.w}u; xx++) {
          let v4 = p2[row + (xx + 4u) * ${C1}u];
          ${Array.from({ length: groups }, (_, g) => `let d${g} = dz3[d + xx * ${groups}u + ${g}u];`).join(' ')}
          ${taps.map((kw) => Array.from({ length: groups }, (_, g) => `s${kw}_${g} += v${kw} * d${g};`).join(' ')).join('\n          ')}
          v0 = v1; v1 = v2; v2 = v3; v3 = v4;
        }
      }
    }
    ${taps
      .map(
        (kw) =>
          `{ let at = out + ${W.w3}u + ((kh * ${K}u + ${kw}u) * ${C1}u + ci) * ${C3}u; ${Array.from({ length: groups }, (_, g) => writeFloats(`at + ${4 * g}u`, `s${kw}_${g}`, 4)).join(' ')} }`,
      )
      .join('\n    ')}
    return;
  }
  ${Array.from({ length: groups }, (_, g) => `var b${g} = vec4<f32>(0.0);`).join(' ')}
  for (var img = first; img < last; img++) {
    for (var y = 0u; y < ${D.a3.h}u; y++) {
      for (var xx = 0u; xx < ${D.a3.w}u; xx++) {
        let d = ${dz3At('img', 'y', 'xx')};
        ${Array.from({ length: groups }, (_, g) => `b${g} += dz3[d + ${g}u];`).join(' ')}
      }
    }
  }
  let at = out + ${W.b3}u;
  ${Array.from({ length: groups }, (_, g) => writeFloats(`at + ${4 * g}u`, `b${g}`, 4)).join(' ')}`,
  );
}

// The last stage's tasks, in vec4s of the packed gradients, in order.
const T = (() => {
  const tasks: [string, number][] = [
    ['conv', CONV_PARAM_FLOATS / 4],
    ['w5', (P4 / 4) * (N5 / 4)],
    ['b5', N5 / 4],
    ['w6', (N5 / 4) * (N6 / 4)],
    ['b6', N6 / 4],
    ['w7', Math.ceil((N6 * N7) / 4)],
    ['b7', Math.ceil(N7 / 4)],
    ['loss', 1],
  ];
  const start: Record<string, number> = {};
  let at = 0;
  for (const [name, count] of tasks) {
    start[name] = at;
    at += count;
  }
  return { start, total: at };
})();

/**
 * Every packed gradient float and the mean loss: the chunks' sums for C1 and C3; for C5, F6 and the
 * output, outer products of a layer's input and its pre-activation gradient summed over the batch
 * (4x4 blocks where both sides come in vec4s).
 */
function gradientsStage(): Stage {
  const outer = (
    task: string,
    input: MapName,
    inputs: number,
    dz: MapName,
    outputs: number,
    kernel: number,
  ) => {
    const columns = outputs / 4;
    return `if (id < ${T.start[task]! + (inputs / 4) * columns}u) {
    let q = id - ${T.start[task]}u; let i = q / ${columns}u; let j = q % ${columns}u;
    var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0); var s2 = vec4<f32>(0.0); var s3 = vec4<f32>(0.0);
    for (var img = 0u; img < dims.batch; img++) {
      let a = ${input}[img * ${inputs / 4}u + i]; let d = ${dz}[img * ${columns}u + j];
      s0 += a.x * d; s1 += a.y * d; s2 += a.z * d; s3 += a.w * d;
    }
    let at = ${V(kernel)}u + 4u * i * ${columns}u + j;
    gradients[at] = s0; gradients[at + ${columns}u] = s1; gradients[at + ${2 * columns}u] = s2; gradients[at + ${3 * columns}u] = s3;
    return;
  }`;
  };
  const bias = (
    task: string,
    dz: MapName,
    outputs: number,
    offset: number,
  ) => `if (id < ${T.start[task]! + outputs / 4}u) {
    let j = id - ${T.start[task]}u;
    var s = vec4<f32>(0.0);
    for (var img = 0u; img < dims.batch; img++) { s += ${dz}[img * ${outputs / 4}u + j]; }
    gradients[${V(offset)}u + j] = s;
    return;
  }`;
  // The output layer's rows of 10 are not whole vec4s: each invocation makes 4 consecutive floats.
  const scalars = (
    task: string,
    count: number,
    offset: number,
    value: string,
  ) => `if (id < ${T.start[task]! + Math.ceil(count / 4)}u) {
    var s = vec4<f32>(0.0);
    for (var c = 0u; c < 4u; c++) {
      let q = (id - ${T.start[task]}u) * 4u + c;
      if (q >= ${count}u) { break; }
      var v = 0.0;
      ${value}
      s[c] = v;
    }
    gradients[${V(offset)}u + id - ${T.start[task]}u] = s;
    return;
  }`;
  return stage(
    'lenet5-gradients',
    [
      read('partials', 'vec4<f32>'),
      read('p4', 'vec4<f32>'),
      read('dz5', 'vec4<f32>'),
      read('a5', 'vec4<f32>'),
      read('dz6', 'vec4<f32>'),
      read('a6'),
      read('head'),
      write('gradients', 'vec4<f32>'),
    ],
    () => T.total,
    `  if (id >= ${T.total}u) { return; }
  if (id < ${T.start.w5}u) {
    var s = vec4<f32>(0.0);
    for (var chunk = 0u; chunk < dims.chunks; chunk++) { s += partials[chunk * ${CONV_PARAM_FLOATS / 4}u + id]; }
    gradients[id] = s;
    return;
  }
  ${outer('w5', 'p4', P4, 'dz5', N5, W.w5)}
  ${bias('b5', 'dz5', N5, W.b5)}
  ${outer('w6', 'a5', N5, 'dz6', N6, W.w6)}
  ${bias('b6', 'dz6', N6, W.b6)}
  ${scalars(
    'w7',
    N6 * N7,
    W.w7,
    `let i = q / ${N7}u; let j = q % ${N7}u;
      for (var img = 0u; img < dims.batch; img++) { v += a6[img * ${N6}u + i] * head[img * ${N7}u + j]; }`,
  )}
  ${scalars('b7', N7, W.b7, `for (var img = 0u; img < dims.batch; img++) { v += head[img * ${N7}u + q]; }`)}
  var loss = 0.0;
  for (var img = 0u; img < dims.batch; img++) { loss += head[dims.batch * ${N7}u + img]; }
  gradients[${V(PARAM_FLOATS)}u] = vec4<f32>(loss / f32(dims.batch), 0.0, 0.0, 0.0);`,
  );
}

const forward = (training: boolean): Stage[] => [
  c1Stage(training),
  c3Stage(training),
  denseStage(training ? 'lenet5-c5-training' : 'lenet5-c5', 'p4', P4, 'a5', N5, W.w5, W.b5),
  denseStage(training ? 'lenet5-f6-training' : 'lenet5-f6', 'a5', N5, 'a6', N6, W.w6, W.b6),
  headStage(training),
];

/** The forward pass, writing the logits: 5 dispatches. */
export const LOGITS_STAGES: readonly Stage[] = forward(false);

/** Loss and every gradient: the forward pass, the backward pass, the weight gradients; 11 dispatches. */
export const GRADIENT_STAGES: readonly Stage[] = [
  ...forward(true),
  denseBackwardStage('lenet5-dz5', 'dz6', N6, 'a5', N5, W.w6, 'dz5'),
  dz3Stage(),
  dcolStage(),
  dz1Stage(),
  convPartialsStage(),
  gradientsStage(),
];
