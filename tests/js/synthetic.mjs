// Seeded synthetic 12×12 images the JS tests share: class k lights a k-dependent 4×4
// patch over noise, so a small model learns it in a few epochs.
export function synthetic(n, seed, classes = 9) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24);
  const x = new Uint8Array(n * 144);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = next() % classes;
    y[i] = k;
    for (let p = 0; p < 144; p++) x[i * 144 + p] = next() % 64;
    const cy = Math.floor(k / 3) * 4, cx = (k % 3) * 4;
    for (let r = cy; r < cy + 4; r++) for (let c = cx; c < cx + 4; c++) x[i * 144 + r * 12 + c] = 160 + (next() % 96);
  }
  return { x, y, shape: [n, 12, 12, 1] };
}
