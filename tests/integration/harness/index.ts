export * from "./process";
export * from "./postgres";
export * from "./redis";
export * from "./rabbitmq";
export * from "./nginx";
export * from "./django";
export * from "./http";
export * from "./secrets";
