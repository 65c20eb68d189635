import { PARAM_SHAPES, type ParamName } from '../model';
import { quoteName } from './describe-untrusted';
import {
  DTYPE_SIZES,
  elementCount,
  type Float32Tensor,
  isFloatDType,
  type StoredTensor,
  toFloat32,
} from './dtypes';
import { StateDictMismatchError } from './errors';
import { hwioToOihw, oihwToHwio, transpose2d } from './layouts';

/** How one parameter of the seed's PyTorch LeNet_5 maps onto ours. */
interface ParamMapping {
  ours: ParamName;
  /** Its shape in PyTorch. */
  shape: readonly number[];
  layout: 'conv' | 'linear' | 'bias';
}

/**
 * The seed's PyTorch `LeNet_5` state_dict, in its order: conv1/conv2/conv3 are C1/C3/C5
 * (OIHW <-> HWIO), fc1/fc2 are F6/output (`[out, in]` <-> `[in, out]`), biases are the same.
 */
export const PYTORCH_PARAMS: Readonly<Record<string, ParamMapping>> = {
  'conv1.weight': { ours: 'C1/kernel', shape: [6, 1, 5, 5], layout: 'conv' },
  'conv1.bias': { ours: 'C1/bias', shape: [6], layout: 'bias' },
  'conv2.weight': { ours: 'C3/kernel', shape: [16, 6, 5, 5], layout: 'conv' },
  'conv2.bias': { ours: 'C3/bias', shape: [16], layout: 'bias' },
  'conv3.weight': { ours: 'C5/kernel', shape: [120, 16, 5, 5], layout: 'conv' },
  'conv3.bias': { ours: 'C5/bias', shape: [120], layout: 'bias' },
  'fc1.weight': { ours: 'F6/kernel', shape: [84, 120], layout: 'linear' },
  'fc1.bias': { ours: 'F6/bias', shape: [84], layout: 'bias' },
  'fc2.weight': { ours: 'output/kernel', shape: [10, 84], layout: 'linear' },
  'fc2.bias': { ours: 'output/bias', shape: [10], layout: 'bias' },
};

/** The PyTorch names in state_dict order. */
export const PYTORCH_PARAM_NAMES = Object.keys(PYTORCH_PARAMS);

const EXPECTED = PYTORCH_PARAM_NAMES.map((name) => `${name} [${PYTORCH_PARAMS[name]!.shape.join(',')}]`).join(
  ', ',
);

/**
 * Our parameters from the seed's state_dict, in our layouts. Checks every name, shape and dtype
 * first; a file with any missing, unexpected, wrong-shaped or non-float tensor gets one
 * {@link StateDictMismatchError} listing them all. Float16, bfloat16 and float64 are converted to float32.
 */
export function stateDictToLeNet(
  tensors: ReadonlyMap<string, StoredTensor>,
): Record<ParamName, Float32Array> {
  const problems: string[] = [];
  for (const [name, { shape }] of Object.entries(PYTORCH_PARAMS)) {
    if (!tensors.has(name)) problems.push(`missing '${name}' (shape [${shape.join(',')}])`);
  }
  for (const [name, tensor] of tensors) {
    const mapping = PYTORCH_PARAMS[name];
    if (!mapping) {
      problems.push(
        `unexpected ${quoteName(name)} [${tensor.shape.join(',')}] (the seed's LeNet_5 has no such parameter)`,
      );
      continue;
    }
    if (tensor.shape.length !== mapping.shape.length || tensor.shape.some((d, i) => d !== mapping.shape[i])) {
      problems.push(`'${name}' has shape [${tensor.shape.join(',')}], expected [${mapping.shape.join(',')}]`);
    }
    if (!isFloatDType(tensor.dtype)) {
      problems.push(
        `'${name}' has dtype ${tensor.dtype}; weights must be floating point (${Object.keys(DTYPE_SIZES).join(', ')})`,
      );
    }
  }
  if (problems.length > 0) throw new StateDictMismatchError(problems, EXPECTED);

  const weights = {} as Record<ParamName, Float32Array>;
  for (const [name, { ours, shape, layout }] of Object.entries(PYTORCH_PARAMS)) {
    const tensor = tensors.get(name)!;
    const values = toFloat32(tensor.bytes, tensor.dtype as keyof typeof DTYPE_SIZES, tensor.bigEndian);
    weights[ours] =
      layout === 'conv'
        ? oihwToHwio(values, shape)
        : layout === 'linear'
          ? transpose2d(values, shape)
          : values;
  }
  return weights;
}

/** Our parameters (in our layouts, as from `getWeights()`) as the seed's state_dict, in its order and layouts. */
export function leNetToStateDict(
  weights: Readonly<Record<ParamName, Float32Array>>,
): Array<{ name: string } & Float32Tensor> {
  return Object.entries(PYTORCH_PARAMS).map(([name, { ours, shape, layout }]) => {
    const values = weights[ours];
    if (values.length !== elementCount(shape)) {
      throw new RangeError(
        `'${ours}' has ${values.length} values, expected [${PARAM_SHAPES[ours].join(',')}]`,
      );
    }
    const converted =
      layout === 'conv'
        ? hwioToOihw(values, PARAM_SHAPES[ours])
        : layout === 'linear'
          ? transpose2d(values, PARAM_SHAPES[ours])
          : values;
    return { name, shape: [...shape], values: converted };
  });
}
