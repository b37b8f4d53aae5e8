import fs from 'node:fs';
import path from 'node:path';
import { parseDocument, LineCounter, parse } from 'yaml';
const dir = process.argv[2];
const texts = fs.readdirSync(dir).map(f=>fs.readFileSync(path.join(dir,f),'utf8'));
for (let k=0;k<2;k++){
let t=performance.now(); const docs = texts.map(x=>parseDocument(x,{lineCounter:new LineCounter(), prettyErrors:false, uniqueKeys:true})); console.log('parseDocument', performance.now()-t);
t=performance.now(); docs.forEach(d=>d.toJS({maxAliasCount:100})); console.log('toJS', performance.now()-t);
t=performance.now(); texts.map(x=>parseDocument(x)); console.log('parseDocument plain', performance.now()-t);
}
console.log(texts.reduce((a,x)=>a+x.length,0));
