/** The bytes are not a PyTorch checkpoint or safetensors file this reader can load safely; the message says why and what to do. */
export class PyTorchFormatError extends Error {
  override name = 'PyTorchFormatError';
}

/** Most problems that a {@link StateDictMismatchError}'s message lists, so that a hostile file cannot flood it. */
const PROBLEMS_SHOWN = 20;

/**
 * The file is readable but its tensors are not the seed's LeNet-5 state_dict. Lists every missing,
 * wrong-shaped, wrongly typed and unexpected name at once, by its PyTorch name (the message shows the first
 * 20; `problems` holds them all).
 */
export class StateDictMismatchError extends Error {
  override name = 'StateDictMismatchError';
  /** One line per problem found. */
  readonly problems: string[];

  constructor(problems: string[], expected: string) {
    super(
      `This state_dict is not the seed's LeNet-5 (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems
          .slice(0, PROBLEMS_SHOWN)
          .map((p) => `  - ${p}`)
          .join('\n') +
        (problems.length > PROBLEMS_SHOWN ? `\n  - ... and ${problems.length - PROBLEMS_SHOWN} more` : '') +
        `\nExpected exactly: ${expected}. Save model.state_dict() of the seed's LeNet_5 (conv1, conv2, conv3, fc1, fc2). ` +
        'Nothing was loaded.',
    );
    this.problems = problems;
  }
}
