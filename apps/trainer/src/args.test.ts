import { describe, expect, it } from 'vitest';
import { intFlag, positiveFlag } from './args';
import { UsageError } from './errors';

describe('positiveFlag', () => {
  it('takes decimals and exponents, as people write learning rates', () => {
    expect(positiveFlag('lr', '0.001', 1)).toBe(0.001);
    expect(positiveFlag('lr', '3e-3', 1)).toBe(0.003);
    expect(positiveFlag('lr', '.5', 1)).toBe(0.5);
    expect(positiveFlag('lr', '2', 1)).toBe(2);
    expect(positiveFlag('lr', undefined, 7)).toBe(7);
  });

  it('refuses hexadecimal, binary, octal, Infinity, blanks and non-positive numbers, as intFlag refuses them', () => {
    for (const value of [
      '0x10',
      '0b1',
      '0o7',
      'Infinity',
      '1e999',
      ' 1',
      '1 ',
      '',
      'NaN',
      '0',
      '-1',
      '1,5',
      '1e',
    ]) {
      expect(() => positiveFlag('lr', value, 1), value).toThrow(UsageError);
      expect(() => positiveFlag('lr', value, 1), value).toThrow(
        `--lr must be a number greater than 0, got '${value}'`,
      );
    }
    for (const value of ['0x10', '1e3']) expect(() => intFlag('epochs', value, 1), value).toThrow(UsageError);
  });
});
