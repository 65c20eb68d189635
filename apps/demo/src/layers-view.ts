import { type Analysis, featureMapPictures, kernelPictures, vectorPicture } from '@lenet/web';
import { drawPicture, pictureCanvas } from './render';

interface LayerSpec {
  name: 'C1' | 'S2' | 'C3' | 'S4' | 'C5' | 'F6';
  title: string;
  scale: number;
}

const LAYERS: LayerSpec[] = [
  { name: 'C1', title: 'C1: 6 feature maps, 28×28 (5×5 convolution of the input, tanh)', scale: 2.5 },
  { name: 'S2', title: 'S2: 6 maps, 14×14 (2×2 average pooling, stride 2)', scale: 4 },
  { name: 'C3', title: 'C3: 16 feature maps, 10×10 (5×5 convolution over all 6 S2 maps, tanh)', scale: 5 },
  { name: 'S4', title: 'S4: 16 maps, 5×5 (2×2 average pooling)', scale: 8 },
  { name: 'C5', title: 'C5: 120 units (5×5 convolution that covers all of S4, tanh), 12 per row', scale: 10 },
  { name: 'F6', title: 'F6: 84 units (fully connected, tanh), 12 per row', scale: 10 },
];

const isVector = (name: LayerSpec['name']) => name === 'C5' || name === 'F6';

/** "What each layer sees": the learned C1 kernels and every feature map of the current input. */
export class LayersView {
  private readonly canvases = new Map<string, HTMLCanvasElement[]>();
  private readonly kernelCanvases: HTMLCanvasElement[];

  constructor(container: HTMLElement) {
    this.kernelCanvases = Array.from({ length: 6 }, (_, i) =>
      pictureCanvas(`C1 filter ${i + 1}, 5 by 5 weights`, 10),
    );
    container.append(
      this.group(
        'kernels',
        'The 6 learned C1 kernels (5×5 filters), one per C1 map below',
        this.kernelCanvases,
      ),
    );
    for (const layer of LAYERS) {
      const count = isVector(layer.name) ? 1 : layer.name === 'C1' || layer.name === 'S2' ? 6 : 16;
      const canvases = Array.from({ length: count }, (_, i) =>
        pictureCanvas(count === 1 ? `${layer.name} units` : `${layer.name} map ${i + 1}`, layer.scale),
      );
      this.canvases.set(layer.name, canvases);
      container.append(this.group(layer.name, layer.title, canvases));
    }
  }

  /** Draws the model's C1 kernels (`[5, 5, 1, 6]`, as they change while it trains) and the maps of `analysis`. */
  show(analysis: Analysis, kernel: Float32Array): void {
    for (const [i, picture] of kernelPictures(kernel, [5, 5, 1, 6]).entries()) {
      drawPicture(this.kernelCanvases[i]!, picture);
    }
    for (const layer of LAYERS) {
      const { shape, values } = analysis.layers[layer.name];
      // tanh outputs: one fixed scale, so a weak map looks weak.
      const pictures = isVector(layer.name)
        ? [vectorPicture(values, 12, { range: 1 })]
        : featureMapPictures(values, shape[0]!, shape[1]!, shape[2]!, { range: 1 });
      const canvases = this.canvases.get(layer.name)!;
      for (const [i, picture] of pictures.entries()) drawPicture(canvases[i]!, picture);
    }
  }

  private group(id: string, title: string, canvases: HTMLCanvasElement[]): HTMLElement {
    const section = document.createElement('div');
    section.className = 'layer';
    section.dataset['layer'] = id;
    const heading = document.createElement('h3');
    heading.textContent = title;
    const maps = document.createElement('div');
    maps.className = 'maps';
    maps.append(...canvases);
    section.append(heading, maps);
    return section;
  }
}
