/** The bytes are not a PyTorch checkpoint or safetensors file this reader can load safely; the message says why and what to do. */
export class PyTorchFormatError extends Error {
  override name = 'PyTorchFormatError';
}

/**
 * The file is readable but its tensors are not the seed's LeNet-5 state_dict. Lists every missing,
 * wrong-shaped, wrongly typed and unexpected name at once, by its PyTorch name.
 */
export class StateDictMismatchError extends Error {
  override name = 'StateDictMismatchError';
  /** One line per problem found. */
  readonly problems: string[];

  constructor(problems: string[], expected: string) {
    super(
      `This state_dict is not the seed's LeNet-5 (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        `\nExpected exactly: ${expected}. Save model.state_dict() of the seed's LeNet_5 (conv1, conv2, conv3, fc1, fc2). ` +
        'Nothing was loaded.',
    );
    this.problems = problems;
  }
}
