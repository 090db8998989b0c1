// Users: the caller's own account (`me`) and, for admins, everyone's.
import { z } from "zod";
import { endpoint, type Endpoint } from "./endpoint.ts";

export const Me = z
  .object({
    id: z.number().int(),
    username: z.string(),
    email: z.string(),
    firstName: z.string(),
    lastName: z.string(),
    role: z.enum(["READER", "AUTHOR", "EDITOR", "ADMIN"]),
  })
  .meta({ id: "Me" });

const getMe = endpoint({
  operationId: "getMe",
  method: "get",
  path: "/me",
  summary: "The signed-in user",
  tags: ["users"],
  auth: "user",
  responses: { 200: { description: "Your account.", schema: Me } },
  handle({ user }) {
    const { id, username, email, firstName, lastName, role } = user!;
    return { body: { id, username, email, firstName, lastName, role } };
  },
});

export const endpoints: Endpoint[] = [getMe];
