import { MNIST_MEAN, MNIST_STD, preprocessImages } from '@lenet/data';
import { loadEmbeddedMnist } from '@lenet/data/node';

/** The first `n` real MNIST training images as the model takes them (padded to 32x32, normalised), and their labels. */
export async function firstTrainingImages(n: number): Promise<{ images: Float32Array; labels: Int32Array }> {
  const mnist = await loadEmbeddedMnist();
  const preprocessing = { resize: 'pad', normalize: { mean: MNIST_MEAN, std: MNIST_STD } } as const;
  return {
    images: preprocessImages(mnist.train.images.subarray(0, n * 784), n, preprocessing),
    labels: Int32Array.from(mnist.train.labels.subarray(0, n)),
  };
}
