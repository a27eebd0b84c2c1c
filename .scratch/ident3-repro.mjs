import { run } from "./ident3-fg.mjs";
const attacks = [{"kind":"suspect","victim":0,"to":0,"inc":"current","accuser":"evil","macOwner":"evil","gapMs":971},{"kind":"suspect","victim":1,"to":0,"inc":"current","accuser":"evil","macOwner":"evil","gapMs":0},{"kind":"mac","victim":1,"to":0,"inc":"current","accuser":"evil","macOwner":"evil","gapMs":69}];
for (let k = 0; k < +(process.env.N ?? 8); k++) { const r = run(attacks, 30);
console.log(JSON.stringify({deadFor: r.deadFor, stillDead: r.stillDead, settleMs: r.settleMs}));
for (const v of r.afterAttack) if (v.macOwner !== v.owner || !v.alive) console.log("after", v.o, v.h, v.alive, v.macOwner?.toString(16), v.owner.toString(16));
for (const v of r.views) if (v.macOwner !== v.owner || !v.alive) console.log("final", v.o, v.h, v.alive, v.macOwner?.toString(16), v.owner.toString(16));
}
