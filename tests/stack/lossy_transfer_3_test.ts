import { registerSeeds } from "../_harness/lossy.ts";

registerSeeds(75, 100);
