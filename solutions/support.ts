export * from "../exercises/support.ts";
