import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/sidecar/graph';
import { emojiItems } from '../../../src/sidecar/train/data/emoji';
import { EMOJI_STYLES } from '../../../src/sidecar/train/data/emoji-styles';
import { digitCaptions } from '../../../src/sidecar/train/data/mnist';
import { styleOfCaption, styledCaptions, styleWords, trainingCaption, withStyle } from '../../../src/sidecar/train/data/style-captions';
import { buildTokenizer, loadTokenizer } from '../../../src/sidecar/train/data/tokenizer';

const byId = (id: string) => EMOJI_STYLES.find((s) => s.id === id)!;

test('a caption with a style word names that style', () => {
  assert.equal(withStyle('a graceful swan', byId('fluent-emoji-flat')), 'a graceful swan, flat style');
  assert.equal(withStyle('a graceful swan', byId('fluent-emoji'), 1, 1), 'a graceful swan in the fluent style');
  assert.equal(styleOfCaption('a graceful swan in the fluent style')?.id, 'fluent-emoji');
  assert.equal(styleOfCaption('a graceful swan, fluent flat style')?.id, 'fluent-emoji-flat');
  assert.equal(styleOfCaption('A Graceful Swan, TWITTER style')?.id, 'twemoji');
  assert.equal(styleOfCaption('a womans flat shoe'), undefined, 'a bare "flat" is part of the object');
  assert.equal(styleOfCaption('a womans flat shoe, flat style')?.id, 'fluent-emoji-flat');
  for (const style of EMOJI_STYLES) {
    for (const c of styledCaptions('a graceful swan', style)) assert.equal(styleOfCaption(c)?.id, style.id, c);
  }
});

test('no caption without a style word names a style (every emoji and digit caption)', () => {
  const plain = [...emojiItems().flatMap((x) => [...x.captions, ...(x.broad ? [x.broad] : [])]), ...Array.from({ length: 10 }, (_, d) => digitCaptions(d)).flat()];
  assert.ok(plain.length > 10000);
  const named = plain.filter((c) => styleOfCaption(c));
  assert.deepEqual(named, []);
});

test('the tokenizer built for the styled set has every style word whole', () => {
  const files = buildTokenizer(['a graceful swan'], 16, styleWords());
  const tok = loadTokenizer(files);
  const vocab = (files.tokenizer as { model: { vocab: Record<string, number> } }).model.vocab;
  for (const w of ['flat', 'fluent', '3d', 'twitter', 'twemoji', 'firefox', 'emojione', 'noto', 'classic', 'style']) assert.ok(w in vocab, w);
  const tokens = tok.encode('a graceful swan in the twitter style').tokens;
  assert.deepEqual(tokens, ['<bos>', 'a', 'graceful', 'swan', 'in', 'the', 'twitter', 'style', '<eos>']);
});

test('training captions are half styled (naming the drawing\'s style) and half plain, following the seed', () => {
  const rng = new Rng(3), style = byId('twemoji');
  const caps = Array.from({ length: 2000 }, () => trainingCaption(['a graceful swan', 'a swan'], style, (n) => rng.int(n)));
  const styled = caps.filter((c) => styleOfCaption(c));
  assert.ok(styled.every((c) => styleOfCaption(c)!.id === 'twemoji'));
  assert.ok(Math.abs(styled.length / caps.length - 0.5) < 0.05, `${styled.length} of ${caps.length} styled`);
  const again = new Rng(3);
  assert.deepEqual(Array.from({ length: 2000 }, () => trainingCaption(['a graceful swan', 'a swan'], style, (n) => again.int(n))), caps);
});
