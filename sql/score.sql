-- crmdedup.score_rows (C) against a PL/pgSQL reference of the record scoring.
-- pg_temp.ref_match_rows_010 below is the PL/pgSQL match_rows of 0.1.0 with the two
-- scoring rules 0.2.0 changed inside it (marked "0.2.0"): the frequency of a whole
-- person name, and mailboxes named after the person; pg_temp.ref_match_rows adds the
-- other rule of 0.2.0 (names in swapped columns) around it; address and name-part
-- similarity come from crmdedup.value_similarity, as in 0.1.0: a few hundred
-- generated pairs (Cyrillic, Latin, Han and Hangul names, phones in every JSON shape,
-- child-table phones, emails, companies, dates in every accepted form, every role) must
-- get the same weights (to 1e-9), the same levels and the same explanation, before and
-- after crmdedup.analyze(); crmdedup.match_rows (which now calls score_rows) too.
SET extra_float_digits = 0;
SET client_min_messages = warning;

-- best name similarity of two fields' values, 0 when a side has none
CREATE FUNCTION pg_temp.best_sim(x jsonb, y jsonb) RETURNS float8 LANGUAGE sql STABLE
RETURN coalesce((SELECT max(crmdedup.name_part_similarity(u, v))
                   FROM unnest(crmdedup.field_values(x)) u, unnest(crmdedup.field_values(y)) v), 0);

-- 0.2.0: the consonant skeleton of the letters a-z of a text (record_score.c: skeleton)
CREATE FUNCTION pg_temp.skeleton(t text) RETURNS text LANGUAGE sql IMMUTABLE
RETURN regexp_replace(translate(replace(replace(regexp_replace(t, '[^a-z]', '', 'g'), 'kh', 'h'), 'x', 'ks'), 'w', 'v'),
                      '[aeiouyhj]', '', 'g');

-- 0.2.0: whether the local part of the email key of v is made of the words of the names
-- (and their first letters), skeletons compared, and its letters not of the first letters alone
CREATE FUNCTION pg_temp.named_after(v text, names text[]) RETURNS boolean LANGUAGE sql STABLE
RETURN coalesce((
    SELECT pg_temp.skeleton(l) <> ''
           AND pg_temp.skeleton(l) ~ ('^(' || (
               SELECT string_agg(DISTINCT t, '|')
                 FROM unnest(names) AS n, unnest(string_to_array(crmdedup.person_key(n), ' ')) AS w,
                      LATERAL (VALUES (pg_temp.skeleton(left(w, 1))), (pg_temp.skeleton(w))) AS x(t)
                WHERE w ~ '^[a-z]+$' AND t <> '') || ')+$')
           AND NOT coalesce(regexp_replace(l, '[^a-z]', '', 'g') ~ ('^(' || (
               SELECT string_agg(DISTINCT left(w, 1), '|')
                 FROM unnest(names) AS n, unnest(string_to_array(crmdedup.person_key(n), ' ')) AS w
                WHERE w ~ '^[a-z]+$') || ')+$'), false)
      FROM (SELECT substring(crmdedup.email_key(v) FROM '^(.*)@') AS l) s), false);

-- 0.2.0: is every word of one company term key a word of the other, which has more words?
CREATE FUNCTION pg_temp.contained(x text, y text) RETURNS boolean LANGUAGE sql IMMUTABLE
RETURN (SELECT CASE WHEN cardinality(sx) < cardinality(sy) THEN cardinality(sx) > 0 AND sx <@ sy
                    WHEN cardinality(sy) < cardinality(sx) THEN cardinality(sy) > 0 AND sy <@ sx
                    ELSE false END
          FROM (SELECT coalesce((SELECT array_agg(w) FROM regexp_split_to_table(x, ' ') w WHERE w <> ''), '{}') AS sx,
                       coalesce((SELECT array_agg(w) FROM regexp_split_to_table(y, ' ') w WHERE w <> ''), '{}') AS sy) k);

-- the term-frequency u of a pair of company names (record_score.c, side_tf; names that differ)
CREATE FUNCTION pg_temp.company_tf(p_name text, field text, rows bigint, x text) RETURNS float8
LANGUAGE sql STABLE
RETURN greatest((SELECT exp(sum(ln(coalesce(t.freq, 1.0 / rows))))
                   FROM unnest(crmdedup.term_keys('company', x)) AS k
                   LEFT JOIN crmdedup.term_stats t ON t.profile = p_name AND t.field = company_tf.field AND t.term = k),
                (SELECT coalesce(t.freq, 1.0 / rows)
                   FROM (SELECT crmdedup.translit(crmdedup.company_key(x)) AS k) w
                   LEFT JOIN crmdedup.term_stats t ON t.profile = p_name AND t.field = company_tf.field AND t.term = w.k
                  WHERE strpos(w.k, ' ') > 0));

CREATE FUNCTION pg_temp.ref_match_rows_010(profile text, a jsonb, b jsonb,
    OUT score float8, OUT decision text, OUT weight float8, OUT explanation jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    c jsonb;
    f jsonb;
    lvl jsonb;
    va text[];
    vb text[];
    x text;
    y text;
    s float8;
    best float8;
    best_a text;
    best_b text;
    m float8;
    u float8;
    w float8;
    level_name text;
    tf_u float8;
    sum_m float8;
    sum_u float8;
    details jsonb := '[]';
    -- 0.2.0: per field, for the rules applied after the loop
    ws float8[] := '{}';
    sims float8[] := '{}';
    vas jsonb := '[]';
    vbs jsonb := '[]';
    name_vals text[] := '{}';
    name_field text;
    i int;
    li int;
    at_top boolean;
BEGIN
    SELECT * INTO p FROM crmdedup.profiles pr WHERE pr.name = ref_match_rows_010.profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    c := p.compiled;
    FOR f IN SELECT * FROM jsonb_array_elements(c->'fields') LOOP
        IF f ? 'from' THEN
            EXECUTE format('SELECT coalesce(array_agg(%I::text) FILTER (WHERE %I IS NOT NULL), ''{}'') FROM %s WHERE %I = $1::%s',
                           f->'from'->>'column', f->'from'->>'column', f->'from'->>'table', f->'from'->>'key',
                           f->'from'->>'key_type')
               INTO va USING a->>(c->>'id');
            EXECUTE format('SELECT coalesce(array_agg(%I::text) FILTER (WHERE %I IS NOT NULL), ''{}'') FROM %s WHERE %I = $1::%s',
                           f->'from'->>'column', f->'from'->>'column', f->'from'->>'table', f->'from'->>'key',
                           f->'from'->>'key_type')
               INTO vb USING b->>(c->>'id');
        ELSE
            va := crmdedup.field_values(a->(f->>'field'));
            vb := crmdedup.field_values(b->(f->>'field'));
        END IF;

        IF f->>'role' IN ('person_name', 'first_name', 'last_name', 'middle_name') THEN
            name_vals := name_vals || va || vb;
        END IF;
        IF cardinality(va) = 0 OR cardinality(vb) = 0 THEN
            details := details || jsonb_build_array(jsonb_build_object(
                'field', f->>'field', 'role', f->>'role', 'level', 'missing', 'weight', 0));
            ws := ws || 0::float8; sims := sims || NULL::float8;
            vas := vas || jsonb_build_array(to_jsonb(va)); vbs := vbs || jsonb_build_array(to_jsonb(vb));
            CONTINUE;
        END IF;

        best := -1;
        FOREACH x IN ARRAY va LOOP
            FOREACH y IN ARRAY vb LOOP
                s := coalesce(crmdedup.value_similarity(f->>'role', x, y, f->>'region'), 0);
                IF s > best THEN
                    best := s; best_a := x; best_b := y;
                END IF;
            END LOOP;
        END LOOP;

        level_name := NULL;
        sum_m := 0; sum_u := 0;
        li := 0; at_top := false;
        FOR lvl IN SELECT * FROM jsonb_array_elements(f->'levels') LOOP
            li := li + 1;
            sum_m := sum_m + (lvl->>'m')::float8;
            sum_u := sum_u + (lvl->>'u')::float8;
            IF level_name IS NULL AND best >= (lvl->>'min')::float8 THEN
                level_name := lvl->>'level';
                at_top := li = 1;
                m := (lvl->>'m')::float8;
                u := (lvl->>'u')::float8;
                -- agreeing on a rare value is stronger evidence than on a common one
                IF coalesce((lvl->>'tf')::boolean, false) AND p.analyzed_rows > 0 THEN
                    -- 0.2.0: a person name of several words also by its whole key (a
                    -- whole name analyze() left out is held by one row: 1/rows); a company
                    -- name by its words and its whole key likewise
                    SELECT greatest(ta, tb) INTO tf_u FROM (
                        SELECT greatest((SELECT exp(sum(ln(coalesce(t.freq, CASE WHEN f->>'role' NOT IN ('email', 'phone') THEN 1.0 / p.analyzed_rows END))))
                                  FROM unnest(crmdedup.term_keys(f->>'role', best_a)) AS k
                                  LEFT JOIN crmdedup.term_stats t
                                         ON t.profile = p.name AND t.field = f->>'field' AND t.term = k),
                                        (SELECT coalesce(t.freq, 1.0 / p.analyzed_rows)
                                           FROM (SELECT CASE f->>'role' WHEN 'person_name' THEN crmdedup.person_key(best_a)
                                                        ELSE crmdedup.translit(crmdedup.company_key(best_a)) END AS k) w
                                           LEFT JOIN crmdedup.term_stats t
                                                  ON t.profile = p.name AND t.field = f->>'field' AND t.term = w.k
                                          WHERE f->>'role' IN ('person_name', 'company') AND strpos(w.k, ' ') > 0)) AS ta,
                               greatest((SELECT exp(sum(ln(coalesce(t.freq, CASE WHEN f->>'role' NOT IN ('email', 'phone') THEN 1.0 / p.analyzed_rows END))))
                                  FROM unnest(crmdedup.term_keys(f->>'role', best_b)) AS k
                                  LEFT JOIN crmdedup.term_stats t
                                         ON t.profile = p.name AND t.field = f->>'field' AND t.term = k),
                                        (SELECT coalesce(t.freq, 1.0 / p.analyzed_rows)
                                           FROM (SELECT CASE f->>'role' WHEN 'person_name' THEN crmdedup.person_key(best_b)
                                                        ELSE crmdedup.translit(crmdedup.company_key(best_b)) END AS k) w
                                           LEFT JOIN crmdedup.term_stats t
                                                  ON t.profile = p.name AND t.field = f->>'field' AND t.term = w.k
                                          WHERE f->>'role' IN ('person_name', 'company') AND strpos(w.k, ' ') > 0)) AS tb) q;
                    -- 0.2.0: the same company name of one word on both sides: the whole
                    -- name's share (kept under the word and a space), 1/rows when not kept
                    IF f->>'role' = 'company'
                       AND crmdedup.translit(crmdedup.company_key(best_a)) = crmdedup.translit(crmdedup.company_key(best_b))
                       AND crmdedup.translit(crmdedup.company_key(best_a)) <> ''
                       AND strpos(crmdedup.translit(crmdedup.company_key(best_a)), ' ') = 0 THEN
                        SELECT coalesce(max(t.freq), 1.0 / p.analyzed_rows) INTO tf_u
                          FROM crmdedup.term_stats t
                         WHERE t.profile = p.name AND t.field = f->>'field'
                           AND t.term = crmdedup.translit(crmdedup.company_key(best_a)) || ' ';
                    END IF;
                    IF tf_u IS NOT NULL THEN
                        -- 0.2.0: a mailbox name can weaken the email level, not strengthen it
                        -- (an unknown one is held by no other mailbox: no frequency); a phone
                        -- number held by other rows too, the same
                        u := CASE WHEN f->>'role' IN ('email', 'phone') THEN greatest(u, least(greatest(tf_u, 1e-7), 0.5))
                                  ELSE least(greatest(tf_u, 1e-7), 0.5) END;
                    END IF;
                END IF;
            END IF;
        END LOOP;
        -- 0.2.0: a company name whose words are all words of the other name counts at the
        -- top level (its m) with the pair's term-frequency u (the larger of the two names'
        -- frequencies), when that weighs at least the level below the top, and stronger
        IF f->>'role' = 'company' AND NOT at_top AND p.analyzed_rows > 0
           AND f->'levels'->0->>'level' IS NOT NULL AND coalesce((f->'levels'->0->>'tf')::boolean, false)
           AND pg_temp.contained(crmdedup.translit(crmdedup.company_key(best_a)),
                                 crmdedup.translit(crmdedup.company_key(best_b))) THEN
            tf_u := least(greatest(greatest(pg_temp.company_tf(p.name, f->>'field', p.analyzed_rows, best_a),
                                            pg_temp.company_tf(p.name, f->>'field', p.analyzed_rows, best_b)), 1e-7), 0.5);
            -- only when the top level's weight with tf_u is at least the level below the top's
            -- (m0 / tf_u >= m1 / u1, multiplied out)
            IF coalesce((f->'levels'->0->>'m')::float8 * (f->'levels'->1->>'u')::float8
                        >= (f->'levels'->1->>'m')::float8 * tf_u, false)
               AND ((level_name IS NOT NULL AND (f->'levels'->0->>'m')::float8 / tf_u > m / u)
                    OR (level_name IS NULL AND 1 - sum_u > 0
                        AND (f->'levels'->0->>'m')::float8 / tf_u > (1 - sum_m) / (1 - sum_u))) THEN
                level_name := f->'levels'->0->>'level';
                m := (f->'levels'->0->>'m')::float8;
                u := tf_u;
            END IF;
        END IF;
        IF level_name IS NULL THEN
            level_name := 'different';
            m := 1 - sum_m;
            u := 1 - sum_u;
        END IF;
        w := (f->>'weight')::float8 * ln(m / u) / ln(2);
        details := details || jsonb_build_array(jsonb_build_object(
            'field', f->>'field', 'role', f->>'role', 'level', level_name,
            'similarity', round(best::numeric, 3), 'weight', round(w::numeric, 2),
            'm', round(m::numeric, 6), 'u', round(u::numeric, 8), 'a', best_a, 'b', best_b));
        ws := ws || w; sims := sims || best;
        vas := vas || jsonb_build_array(to_jsonb(va)); vbs := vbs || jsonb_build_array(to_jsonb(vb));
        IF name_field IS NULL AND w > 0 AND f->>'role' IN ('person_name', 'first_name', 'last_name', 'middle_name') THEN
            name_field := f->>'field';
        END IF;
    END LOOP;

    -- 0.2.0: an email field below the same mailbox adds nothing once a name field agreed
    -- when some pair of its values with the best similarity has both mailbox names made
    -- of the records' names, in two mailboxes a namesake could hold (domains more than two
    -- edits apart, or one domain and the same letters)
    FOR i IN 1 .. jsonb_array_length(details) LOOP
        IF name_field IS NOT NULL AND details->(i - 1)->>'role' = 'email'
           AND details->(i - 1)->>'level' NOT IN ('missing', 'different') AND sims[i] < 1 AND ws[i] > 0
           AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(vas->(i - 1)) ex(x), jsonb_array_elements_text(vbs->(i - 1)) ey(y)
                        WHERE pg_temp.named_after(ex.x, name_vals) AND pg_temp.named_after(ey.y, name_vals)
                          AND (crmdedup.levenshtein(substring(crmdedup.email_key(ex.x) FROM '@([^@]*)$'),
                                                    substring(crmdedup.email_key(ey.y) FROM '@([^@]*)$'), 2) > 2
                               OR (substring(crmdedup.email_key(ex.x) FROM '@([^@]*)$')
                                   = substring(crmdedup.email_key(ey.y) FROM '@([^@]*)$')
                                   AND regexp_replace(substring(crmdedup.email_key(ex.x) FROM '^(.*)@'), '[^a-z]', '', 'g')
                                       = regexp_replace(substring(crmdedup.email_key(ey.y) FROM '^(.*)@'), '[^a-z]', '', 'g')))
                          AND coalesce(crmdedup.value_similarity('email', ex.x, ey.y, NULL), 0) = sims[i]) THEN
            ws[i] := 0;
            details := jsonb_set(details, ARRAY[(i - 1)::text],
                                 details->(i - 1) || jsonb_build_object('weight', round(0::numeric, 2),
                                                                        'explained_by', name_field));
        END IF;
    END LOOP;
    weight := ln((c->>'prior')::float8 / (1 - (c->>'prior')::float8)) / ln(2);
    FOR i IN 1 .. coalesce(array_length(ws, 1), 0) LOOP
        weight := weight + ws[i];
    END LOOP;

    score := 1 / (1 + power(2::float8, least(greatest(-weight, -1000), 1000)));
    decision := CASE WHEN score >= (c->>'same')::float8 THEN 'same'
                     WHEN score >= (c->>'maybe')::float8 THEN 'maybe'
                     ELSE 'distinct' END;
    explanation := jsonb_build_object('profile', profile, 'score', round(score::numeric, 4),
                                      'decision', decision, 'total_weight', round(weight::numeric, 2),
                                      'prior_weight', round((ln((c->>'prior')::float8 / (1 - (c->>'prior')::float8)) / ln(2))::numeric, 2),
                                      'fields', details);
END;
$$;

-- 0.2.0: first and last names typed in each other's columns.  With exactly one first_name
-- and one last_name field, b's two name fields change places when the crosswise best
-- similarities sum higher than the straight ones (a missing side counts 0); the 0.1.0
-- scoring then runs as before (term frequencies of the field scored, b's values shown).
CREATE FUNCTION pg_temp.ref_match_rows(profile text, a jsonb, b jsonb,
    OUT score float8, OUT decision text, OUT weight float8, OUT explanation jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c jsonb;
    ff text;
    lf text;
BEGIN
    SELECT pr.compiled INTO c FROM crmdedup.profiles pr WHERE pr.name = ref_match_rows.profile;
    IF (SELECT count(*) FROM jsonb_array_elements(c->'fields') f WHERE f->>'role' = 'first_name') = 1
       AND (SELECT count(*) FROM jsonb_array_elements(c->'fields') f WHERE f->>'role' = 'last_name') = 1
       AND jsonb_typeof(a) = 'object' AND jsonb_typeof(b) = 'object' THEN
        ff := (SELECT f->>'field' FROM jsonb_array_elements(c->'fields') f WHERE f->>'role' = 'first_name');
        lf := (SELECT f->>'field' FROM jsonb_array_elements(c->'fields') f WHERE f->>'role' = 'last_name');
        IF pg_temp.best_sim(a->ff, b->lf) + pg_temp.best_sim(a->lf, b->ff)
           > pg_temp.best_sim(a->ff, b->ff) + pg_temp.best_sim(a->lf, b->lf) THEN
            b := b || jsonb_build_object(ff, b->lf, lf, b->ff);
        END IF;
    END IF;
    SELECT * INTO score, decision, weight, explanation FROM pg_temp.ref_match_rows_010(profile, a, b);
END;
$$;

CREATE FUNCTION pg_temp.levels(x jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE
RETURN (SELECT array_agg((f->>'field') || ':' || (f->>'level') ORDER BY f->>'field')
          FROM jsonb_array_elements(x->'fields') f);

-- deterministic "random" numbers
CREATE FUNCTION pg_temp.h(s text) RETURNS int LANGUAGE sql IMMUTABLE
RETURN ('x' || substr(md5(s), 1, 7))::bit(28)::int;

-- Pools of values; neighbours are variants of one another (duplicates take a neighbour).
CREATE TEMP TABLE pool (role text, vals text[]);
INSERT INTO pool VALUES
('full_name', ARRAY['Петров Иван', 'Ivan Petrov', 'Иван Петрович Петров', 'И. Петров', 'Petrov Ivan S.',
    'Щукин Пётр', 'Petr Shchukin', 'Pyotr Schukin', 'Саша Кузнецов', 'Александр Кузнецов',
    'Aleksandr Kuznetsov', '王小明', 'Wang Xiaoming', 'Xiao Ming Wang', '欧阳小明', 'Ouyang Xiaoming',
    'Anna Smith', 'Ann Smith', 'John Smith', 'Юлия Чайковская', 'Yuliya Chaykovskaya', 'Julia Tchaikovsky',
    'Mary Johnson', 'Marie Jonson', 'Иванова Анна', 'Ivanova Anna', 'Müller Hans', 'Hans Mueller',
    '李娜', 'Li Na', 'José García', 'Jose Garcia', 'O''Brien Sean', 'Шон О''Брайен', '김민수', 'Kim Minsu',
    'Dr. Ivan Petrov Jr.', '  ', '123', 'Петров']),
('first_name', ARRAY['Иван', 'Ivan', 'Ваня', 'Vanya', 'Александр', 'Саша', 'Sasha', 'Alexander',
    'Anna', 'Анна', 'Ann', 'Пётр', 'Petr', 'Peter', '小明', 'Xiaoming', 'Юлия', 'Yulia', 'Julia', '!']),
('last_name', ARRAY['Петров', 'Petrov', 'Петрова', 'Petrova', 'Щукин', 'Shchukin', 'Chtchoukine',
    'Smith', 'Smyth', 'Кузнецов', 'Kuznetsov', '王', 'Wang', 'Müller', 'Mueller']),
('middle_name', ARRAY['Сергеевич', 'Sergeevich', 'Сергеевна', 'S.', 'Petrovich', 'Ивановна', 'Ivanovna']),
('company', ARRAY['ООО «Ромашка»', 'Romashka LLC', 'Ромашка', 'Romashka Trade', 'Альфа-Банк', 'Alfa Bank',
    '北京小米科技有限责任公司', 'Xiaomi', '小米', 'Acme Inc.', 'ACME Corporation', 'McDonald''s',
    'McDonalds', 'ООО', 'Vasilek']),
('phones', ARRAY['["8 (912) 345-67-89"]', '["+7 912 345 67 89", "+7 495 111 22 33"]',
    '[{"phone": "+79123456789", "kind": "work"}]', '"+7 912 345 67 98"', '79123456789',
    '[{"number": "8 916 555 44 33"}, {"kind": "fax"}]', '["+7 916 555 44 33"]', '["+1 212 555 0143"]',
    '"(212) 555-0143"', '["138 0013 8000"]', '[{"value": "+86 138 0013 8000"}]',
    '["+7 495 123-45-67 доб. 12"]', '["+7 495 123-45-67 ext 13"]', '"n/a"', '["  ", null, ""]', '[]',
    'null', '[{"value": null, "phone": "8 912 345 67 89"}]', '[79123456780, true, ["+7 912 345 67 89"]]']),
('email', ARRAY['ivan.petrov@gmail.com', 'IvanPetrov+crm@googlemail.com', 'ivan.petrov@gmial.com',
    'ivan.petrov@mail.ru', 'ivan.petrov@yandex.ru', 'petrov.ivan@bk.ru', 'petrov.ivan@inbox.ru',
    'ivan@yandex.ru', 'ivan@ya.ru', 'info@romashka.ru', 'info@romashka.com',
    'Ivan Petrov <ivan.petrov@gmail.com>', 'not an email', 'anna.smith@outlook.com', 'anna_smith@outlook.com',
    'wang@qq.com', 'wang.xm@qq.com']),
('address', ARRAY['ул. Ленина, д. 5, кв. 12', 'ulitsa Lenina 5-12', 'Lenina st 5 apt 12', 'ул Ленина 7',
    '10 Downing Street, London', '10 Downing St London', '北京市朝阳区建国路88号', 'Jianguo Road 88 Chaoyang Beijing',
    '...']),
('city', ARRAY['Москва', 'Moscow', 'Moskva', 'Санкт-Петербург', 'Saint Petersburg', 'St. Petersburg',
    '北京', 'Beijing', 'London', 'Londn', '!!!']),
('postcode', ARRAY['101000', '101 000', '101001', 'SW1A 2AA', 'sw1a2aa', 'SW1A 2AB', '100020', '—']),
('birth', ARRAY['1980-05-17', '17.05.1980', '05/17/1980', '1980-17-05', '19800517', ' 19800517 ',
    E'\t19800517', '1980-5-7', '7/5/1980', '1980-05-17T10:00:00', '1980-05-171', 'unknown', '1975-01-02',
    '1975-02-01', '02.01.1975', '1.2/1975', '1975-1-2 ', '19750102x', '1975-01-12']),
('inn', ARRAY['INN 7701234567', 'inn7701234567', '7701234567', 'ИНН 7701234567', '7701234568', '--', 'A-1', 'a 1']),
('code', ARRAY['AB-123', 'ab123', 'AB-124', 'XY-999', 'ав-123', 'АВ 123']),
('notes', ARRAY['Called twice about the deal', 'called twice about deal', 'Позвонить завтра',
    'pozvonit zavtra', 'VIP client', 'vip', '']);

CREATE TABLE sc_people (id int PRIMARY KEY, full_name text, first_name text, last_name text,
    middle_name text, company text, phones jsonb, email text, address text, city text, postcode text,
    birth text, inn text, code text, notes text);
CREATE TABLE sc_phones (person_id int REFERENCES sc_people, phone text);

-- the values of a child-table field, as match_rows puts them under the field's name
CREATE FUNCTION pg_temp.children(id int) RETURNS jsonb LANGUAGE sql STABLE
RETURN jsonb_build_object('child_phones',
    (SELECT coalesce(jsonb_agg(phone), '[]') FROM sc_phones WHERE person_id = id));


-- value of a field for row r: odd rows pick, even rows duplicate row r - 1 with a
-- neighbouring variant now and then; about one value in seven is missing
CREATE FUNCTION pg_temp.val(r int, f text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT CASE WHEN pg_temp.h(r || f || 'null') % 7 = 0 THEN NULL
                    ELSE vals[1 + (pg_temp.h(((r + 1) / 2 * 2 - 1) || f) +
                                   CASE WHEN r % 2 = 0 AND pg_temp.h(r || f || 'mut') % 3 = 0 THEN 1 ELSE 0 END)
                                  % cardinality(vals)] END
          FROM pool WHERE role = f);

INSERT INTO sc_people
SELECT r, pg_temp.val(r, 'full_name'), pg_temp.val(r, 'first_name'), pg_temp.val(r, 'last_name'),
       pg_temp.val(r, 'middle_name'), pg_temp.val(r, 'company'), pg_temp.val(r, 'phones')::jsonb,
       pg_temp.val(r, 'email'), pg_temp.val(r, 'address'), pg_temp.val(r, 'city'), pg_temp.val(r, 'postcode'),
       pg_temp.val(r, 'birth'), pg_temp.val(r, 'inn'), pg_temp.val(r, 'code'), pg_temp.val(r, 'notes')
  FROM generate_series(1, 320) r;
INSERT INTO sc_phones
SELECT r, (ARRAY['+7 916 555 44 33', '8 916 555 44 33', '+7 916 555 44 34', '+1 212 555 0143',
                 '212-555-0143', '138 0013 8000', '+86 13800138000', '+7 903 000 11 22'])
          [1 + (pg_temp.h(((r + 1) / 2 * 2 - 1) || 'child' || k) + CASE WHEN r % 2 = 0 AND k = 1 THEN 1 ELSE 0 END) % 8]
  FROM generate_series(1, 320) r, generate_series(1, 2) k
 WHERE pg_temp.h(r || 'child' || k) % 3 <> 0;

-- every role, default levels
SELECT crmdedup.create_profile('sc', 'sc_people', '{
  "region": "RU",
  "fields": {
    "full_name": "person_name", "first_name": "first_name", "last_name": "last_name",
    "middle_name": "middle_name", "company": "company", "phones": "phone", "email": "email",
    "address": "address", "city": "city", "postcode": "postcode", "birth": "birth_date",
    "inn": "external_id", "code": "code", "notes": "text",
    "child_phones": {"role": "phone", "from": {"table": "sc_phones", "column": "phone", "key": "person_id"}}
  }
}');
-- levels of its own: a level without a name, tf given as "on" and 1, tf on roles that
-- analyze() keeps no statistics for, weights, another region, prior and thresholds
SELECT crmdedup.create_profile('sc2', 'sc_people', '{
  "region": "US", "prior": 0.01, "thresholds": {"same": 0.95, "maybe": 0.3},
  "fields": {
    "full_name": {"role": "person_name", "weight": 1.5, "levels": [
        {"min": 0.99, "m": 0.5, "u": 0.01, "tf": true},
        {"level": "close", "min": 0.85, "m": 0.3, "u": 0.02, "tf": true},
        {"level": "weak", "min": 0.5, "m": 0.1, "u": 0.2}]},
    "phones": {"role": "phone", "region": "RU",
               "levels": [{"level": "same", "min": 0.95, "m": 0.8, "u": 0.001, "tf": "on"}]},
    "email": {"role": "email", "weight": 0.5},
    "birth": {"role": "birth_date", "levels": [
        {"level": "exact", "min": 1, "m": 0.8, "u": 0.01},
        {"level": "swapped", "min": 0.85, "m": 0.05, "u": 0.001},
        {"min": 0.5, "m": 0.05, "u": 0.05}]},
    "city": {"role": "city", "weight": 2},
    "company": {"role": "company", "weight": 0.7},
    "inn": {"role": "external_id", "levels": [{"level": "same", "min": 1, "m": 0.9, "u": 0.0001, "tf": true}]},
    "notes": {"role": "text", "levels": [{"level": "t", "min": 0.9, "m": 0.3, "u": 0.1, "tf": 1}]},
    "child_phones": {"role": "phone", "from": {"table": "sc_phones", "column": "phone", "key": "person_id"}}
  }
}');

CREATE TEMP TABLE sc_pairs AS
SELECT 2 * k - 1 AS a, 2 * k AS b FROM generate_series(1, 160) k
UNION ALL
SELECT k, (k * 37) % 320 + 1 FROM generate_series(1, 160) k
UNION ALL
SELECT k, k FROM generate_series(1, 20) k;

-- reference, match_rows and score_rows side by side for every pair and both profiles
CREATE FUNCTION pg_temp.compare(stage text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sc_cmp
    SELECT stage, pr.name, p.a, p.b,
           r.weight, r.score, r.decision, r.explanation,
           n.weight, n.score, n.decision, n.explanation,
           d.weight, d.score, d.decision, d.explanation,
           q.weight, q.score, q.decision, q.explanation
      FROM (VALUES ('sc'), ('sc2')) pr(name), sc_pairs p
      JOIN sc_people x ON x.id = p.a JOIN sc_people y ON y.id = p.b,
           LATERAL pg_temp.ref_match_rows(pr.name, to_jsonb(x), to_jsonb(y)) r,
           LATERAL crmdedup.match_rows(pr.name, to_jsonb(x), to_jsonb(y)) n,
           LATERAL crmdedup.score_rows(pr.name, to_jsonb(x) || pg_temp.children(x.id),
                                       to_jsonb(y) || pg_temp.children(y.id)) d,
           LATERAL crmdedup.score_rows(pr.name, to_jsonb(x) || pg_temp.children(x.id),
                                       to_jsonb(y) || pg_temp.children(y.id), explain => false) q;
END;
$$;
CREATE TEMP TABLE sc_cmp (stage text, profile text, a int, b int,
    rw float8, rs float8, rd text, rx jsonb, nw float8, ns float8, nd text, nx jsonb,
    dw float8, ds float8, dd text, dx jsonb, qw float8, qs float8, qd text, qx jsonb);

SELECT pg_temp.compare('before analyze');
SELECT crmdedup.analyze('sc'), crmdedup.analyze('sc2');
SELECT pg_temp.compare('after analyze');

SELECT stage, profile, count(*) AS pairs,
       count(*) FILTER (WHERE abs(rw - nw) > 1e-9 OR abs(rw - dw) > 1e-9 OR qw IS DISTINCT FROM dw) AS weight_diff,
       count(*) FILTER (WHERE pg_temp.levels(rx) IS DISTINCT FROM pg_temp.levels(nx)
                           OR pg_temp.levels(rx) IS DISTINCT FROM pg_temp.levels(dx)) AS level_diff,
       count(*) FILTER (WHERE abs(rs - ns) > 1e-12 OR abs(rs - ds) > 1e-12 OR qs IS DISTINCT FROM ds) AS score_diff,
       count(*) FILTER (WHERE rd <> nd OR rd <> dd OR rd <> qd) AS decision_diff,
       count(*) FILTER (WHERE rx <> nx OR rx <> dx) AS explanation_diff,
       count(*) FILTER (WHERE qx IS NOT NULL) AS explained_without_explain
  FROM sc_cmp GROUP BY 1, 2 ORDER BY 1 DESC, 2;

-- what the pairs cover: per role, whether some pair agreed (a level), disagreed, missed
SELECT f->>'role' AS role,
       bool_or(f->>'level' NOT IN ('different', 'missing')) AS some_level,
       bool_or(f->>'level' = 'different') AS some_different,
       bool_or(f->>'level' = 'missing') AS some_missing,
       bool_or(stage = 'after analyze' AND (f->>'u')::numeric NOT IN (SELECT (l->>'u')::numeric
                 FROM crmdedup.profiles pr, jsonb_array_elements(pr.compiled->'fields') pf,
                      jsonb_array_elements(pf->'levels') l
                WHERE pr.name = c.profile AND pf->>'field' = f->>'field')
               AND f->>'level' NOT IN ('different', 'missing')) AS tf_used,
       bool_or(f ? 'explained_by') AS explained_by_name
  FROM sc_cmp c, jsonb_array_elements(dx->'fields') f
 GROUP BY 1 ORDER BY 1;
SELECT count(DISTINCT rx->>'decision') AS decisions FROM sc_cmp;

-- JSON shapes of values: scalars, numbers, arrays of strings, numbers, objects, nested
-- arrays, nulls, blanks; rows that are not objects
CREATE TEMP TABLE shapes (i int, a jsonb, b jsonb);
INSERT INTO shapes VALUES
(1, '{"phones": 79123456789}', '{"phones": "+7 912 345-67-89"}'),
(2, '{"phones": [{"kind": "work"}, {"value": null, "email": "x", "phone": "89123456789"}]}', '{"phones": ["+79123456789"]}'),
(3, '{"phones": [["+7 912 345 67 89"]]}', '{"phones": "[\"+7 912 345 67 89\"]"}'),
(4, '{"phones": ["", "   ", null]}', '{"phones": "+79123456789"}'),
(5, '{"phones": "\t"}', '{"phones": "\t"}'),
(6, '{"full_name": {"value": "Ivan Petrov"}}', '{"full_name": "Ivan Petrov"}'),
(7, '{"full_name": ["Иван Петров", {"address": "Petrov Ivan"}, 5]}', '{"full_name": [true, "Petrov Ivan"]}'),
(8, '[1, 2]', '{"full_name": "Ivan"}'),
(9, '"Ivan Petrov"', '5'),
(10, '{"birth": 19800517}', '{"birth": "1980-05-17"}'),
(11, '{"birth": 1980.0517}', '{"birth": [" 17/05/1980 ", "1980-05-17"]}'),
(12, '{"email": ["a@b.com", "IVAN.PETROV@gmail.com"], "inn": 7701234567}', '{"email": {"email": "ivanpetrov@gmail.com"}, "inn": "7701234567"}'),
(14, '{"city": "Moscow", "postcode": 101000, "code": "AB-123", "notes": ["VIP", "vip client"]}', '{"city": ["Москва"], "postcode": "101 000", "code": ["ab 123"], "notes": "VIP client"}'),
(15, '{}', '{}'),
(16, '{"first_name": "Freddie", "last_name": "Bradley"}', '{"first_name": "Bradley", "last_name": "Freddie"}'),
(17, '{"first_name": "Simmons", "last_name": "Henry"}', '{"first_name": "Hnry"}'),
(18, '{"first_name": "Ivan", "last_name": "Petrov", "address": "1200 W 12th St"}', '{"first_name": "Ivan", "last_name": "Petrov", "address": "1201 W 12th St"}');
SELECT s.i, pr.name,
       abs(r.weight - d.weight) <= 1e-9 AS same_weight, r.explanation = d.explanation AS same_explanation,
       pg_temp.levels(d.explanation) AS levels
  FROM shapes s, (VALUES ('sc'), ('sc2')) pr(name),
       LATERAL pg_temp.ref_match_rows(pr.name, s.a, s.b) r,
       LATERAL crmdedup.score_rows(pr.name, s.a, s.b) d
 WHERE pr.name = 'sc' OR s.i IN (10, 11)
 ORDER BY 1, 2;
-- child-table values come in the rows, under the field's name
SELECT pg_temp.levels(explanation) FROM crmdedup.score_rows('sc2',
    '{"child_phones": ["8 495 111 22 33", "+7 916 555 44 33"]}', '{"child_phones": [{"phone": "+79165554433"}]}');
SELECT jsonb_pretty(explanation) FROM crmdedup.score_rows('sc2', '{"full_name": "Петров Иван", "birth": "17.05.1980", "phones": ["8 912 345 67 89", "+7 916 555 44 33"]}',
                                                           '{"full_name": "Ivan Petrov", "birth": "1980-17-05", "phones": "+7 916 555 44 33"}');

-- Rounding in the explanation: numbers on and near the halfway points of round(x, k)
-- (1.005 and 2.675 are a hair below them in binary, 0.125 is on one) come out as the
-- SQL rounds them.
CREATE TABLE sc_round (id int PRIMARY KEY, f1 text, f2 text, f3 text, f4 text, f5 text, f6 text, f7 text, f8 text);
SELECT crmdedup.create_profile('round', 'sc_round', '{"fields": {
    "f1": {"role": "code", "weight": 0.125, "levels": [{"level": "x", "min": 0.5, "m": 0.2, "u": 0.1}]},
    "f2": {"role": "code", "weight": 1.005, "levels": [{"level": "x", "min": 0.5, "m": 0.2, "u": 0.1}]},
    "f3": {"role": "code", "weight": 2.675, "levels": [{"level": "x", "min": 0.5, "m": 0.2, "u": 0.1}]},
    "f4": {"role": "code", "weight": 0.005, "levels": [{"level": "x", "min": 0.5, "m": 0.2, "u": 0.1}]},
    "f5": {"role": "code", "weight": 1.005, "levels": [{"level": "x", "min": 0.5, "m": 0.1, "u": 0.2}]},
    "f6": {"role": "code", "weight": 0.015, "levels": [{"level": "x", "min": 0.5, "m": 0.1, "u": 0.2}]},
    "f7": {"role": "code", "levels": [{"level": "x", "min": 0.5, "m": 0.0000125, "u": 0.000000125}]},
    "f8": {"role": "code", "levels": [{"level": "x", "min": 0.5, "m": 0.1234565, "u": 0.123456785}]}}}');
SELECT f->>'field' AS field, f->'weight' AS weight, f->'m' AS m, f->'u' AS u,
       r.explanation = d.explanation AS same_explanation
  FROM pg_temp.ref_match_rows('round', '{"f1": "a", "f2": "a", "f3": "a", "f4": "a", "f5": "a", "f6": "a", "f7": "a", "f8": "a"}',
                              '{"f1": "a", "f2": "a", "f3": "a", "f4": "a", "f5": "a", "f6": "a", "f7": "a", "f8": "a"}') r,
       crmdedup.score_rows('round', '{"f1": "a", "f2": "a", "f3": "a", "f4": "a", "f5": "a", "f6": "a", "f7": "a", "f8": "a"}',
                           '{"f1": "a", "f2": "a", "f3": "a", "f4": "a", "f5": "a", "f6": "a", "f7": "a", "f8": "a"}') d,
       jsonb_array_elements(d.explanation->'fields') f
 ORDER BY 1;
SELECT crmdedup.drop_profile('round');
DROP TABLE sc_round;

-- Many distinct terms in one query: looked up one by one, then all term_stats rows at
-- once; the weights stay those of the reference either way.
CREATE TABLE sc_many (id int PRIMARY KEY, full_name text);
INSERT INTO sc_many SELECT i, 'Iv' || translate(lpad(i::text, 4, '0'), '0123456789', 'aeiouyklmn') || ' Petrov'
  FROM generate_series(1, 1300) i;
SELECT crmdedup.create_profile('many', 'sc_many', '{"fields": {"full_name": "person_name"}}');
SELECT crmdedup.analyze('many');
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE abs(r.weight - d.weight) > 1e-9 OR r.explanation <> d.explanation) AS differ,
       count(DISTINCT round(d.weight::numeric, 6)) > 2 AS weights_vary
  FROM sc_many x JOIN sc_many y ON y.id IN (x.id, x.id % 1300 + 1),
       LATERAL pg_temp.ref_match_rows('many', to_jsonb(x), to_jsonb(y)) r,
       LATERAL crmdedup.score_rows('many', to_jsonb(x), to_jsonb(y)) d;

-- The cache of a call site never outlives what it read: a PL/pgSQL simple expression
-- keeps its call site for the whole transaction, across analyze() and alter_profile().
CREATE FUNCTION pg_temp.cache_check() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    ra jsonb := '{"full_name": "Iveeee Petrov"}';
    w float8[] := '{}';
BEGIN
    DELETE FROM crmdedup.term_stats WHERE profile = 'many';
    UPDATE crmdedup.profiles SET analyzed_rows = NULL WHERE name = 'many';
    FOR i IN 1..3 LOOP
        w := w || (crmdedup.score_rows('many', ra, ra, false)).weight;
        IF i = 1 THEN
            PERFORM crmdedup.analyze('many');
        ELSIF i = 2 THEN
            PERFORM crmdedup.alter_profile('many', '{"prior": 0.5, "fields": {"full_name": "person_name"}}');
        END IF;
    END LOOP;
    RETURN format('%s %s %s', round(w[1]::numeric, 4), round(w[2]::numeric, 4), round(w[3]::numeric, 4));
END;
$$;
SELECT pg_temp.cache_check();
SELECT round(weight::numeric, 4) FROM crmdedup.score_rows('many', '{"full_name": "Iveeee Petrov"}', '{"full_name": "Iveeee Petrov"}');

-- A blank value is no value, in a child table too (the PL/pgSQL compared blank child
-- values and found them "different").
INSERT INTO sc_people (id, full_name) VALUES (1001, 'Blank Phone'), (1002, 'Blank Phone');
INSERT INTO sc_phones VALUES (1001, ' '), (1002, '+7 916 555 44 33');
SELECT (SELECT f->>'level' FROM jsonb_array_elements(r.explanation->'fields') f WHERE f->>'field' = 'child_phones') AS reference,
       (SELECT f->>'level' FROM jsonb_array_elements(n.explanation->'fields') f WHERE f->>'field' = 'child_phones') AS match_rows
  FROM sc_people x, sc_people y,
       LATERAL pg_temp.ref_match_rows('sc', to_jsonb(x), to_jsonb(y)) r,
       LATERAL crmdedup.match_rows('sc', to_jsonb(x), to_jsonb(y)) n
 WHERE x.id = 1001 AND y.id = 1002;

-- arguments
SELECT score, decision, round(weight::numeric, 4) AS weight, explanation IS NULL AS no_explanation
  FROM crmdedup.score_rows('sc', '{"full_name": "Ivan Petrov"}', '{"full_name": "Петров Иван"}', NULL);
SELECT round(score::numeric, 6), decision, explanation->'fields'->0 FROM crmdedup.score_rows('sc', '{}', '{}');
SELECT round(score::numeric, 6), decision, round(weight::numeric, 4), jsonb_array_length(explanation->'fields') AS fields,
       (SELECT bool_and(f->>'level' = 'missing') FROM jsonb_array_elements(explanation->'fields') f) AS all_missing
  FROM crmdedup.match_rows('sc', NULL, NULL);
SELECT * FROM crmdedup.score_rows('sc', NULL, '{}');
SELECT * FROM crmdedup.score_rows('sc', '{}', NULL, false);
SELECT * FROM crmdedup.score_rows(NULL, '{}', '{}');
SELECT * FROM crmdedup.score_rows('nope', '{}', '{}');
SELECT * FROM crmdedup.score_rows('sc', jsonb_build_object('full_name', repeat('a', 5000)), '{"full_name": "a"}');
SELECT * FROM crmdedup.score_rows('sc', jsonb_build_object('notes', repeat('a ', 300)), '{"notes": "a"}');
-- a compiled spec that the scorer cannot use is rejected with its field named
UPDATE crmdedup.profiles SET compiled = jsonb_set(compiled, '{fields,0,levels,0,m}', '0') WHERE name = 'many';
SELECT * FROM crmdedup.score_rows('many', '{}', '{}');
UPDATE crmdedup.profiles SET compiled = jsonb_set(crmdedup.compile_profile_spec(table_oid, spec), '{fields,0,role}', '"nickname"') WHERE name = 'many';
SELECT * FROM crmdedup.score_rows('many', '{}', '{}');
UPDATE crmdedup.profiles SET compiled = jsonb_set(crmdedup.compile_profile_spec(table_oid, spec), '{prior}', '1') WHERE name = 'many';
SELECT * FROM crmdedup.score_rows('many', '{}', '{}');
UPDATE crmdedup.profiles SET compiled = jsonb_set(crmdedup.compile_profile_spec(table_oid, spec), '{fields,0,levels}', '[]') WHERE name = 'many';
SELECT score, decision, weight, explanation->'fields' FROM crmdedup.score_rows('many', '{"full_name": "Ivan"}', '{"full_name": "Ivan"}');
UPDATE crmdedup.profiles SET compiled = jsonb_set(compiled, '{fields,1,region}', '"XX"') WHERE name = 'sc2';
SELECT * FROM crmdedup.score_rows('sc2', '{}', '{}');

-- Namesakes (0.2.0).  Agreeing on a full name is worth what the whole name's share of
-- rows says, not the product of its words' shares: 12 João da Silvas in 240 rows are 12
-- people who share a name, and mailboxes named after the name at other domains add
-- nothing to it.  A rare name with the same phone is still the same person.
CREATE TABLE sc_names (id int PRIMARY KEY, full_name text, phone text, email text);
INSERT INTO sc_names
SELECT i, 'João da Silva', '+55 11 9' || lpad((1000000 + i * 7919)::text, 8, '0'),
       (ARRAY['joao.silva', 'jsilva', 'silva.joao', 'joaosilva'])[1 + i % 4] || '@'
       || (ARRAY['gmail.com', 'hotmail.com', 'uol.com.br', 'outlook.com', 'yahoo.com.br', 'bol.com.br'])[1 + i % 6]
  FROM generate_series(1, 12) i;
INSERT INTO sc_names
SELECT 12 + i, (ARRAY['Maria', 'Ana', 'Pedro', 'Lucas', 'Julia', 'Rafael', 'Carla', 'Bruno'])[1 + i % 8] || ' '
               || (ARRAY['da', 'dos', 'de', 'e'])[1 + i % 4] || ' '
               || (ARRAY['Silva', 'Souza', 'Costa', 'Santos', 'Oliveira', 'Pereira', 'Lima'])[1 + i % 7] || ' '
               || 'Nome' || translate(lpad(i::text, 3, '0'), '0123456789', 'abcdefghij'),
       '+55 21 9' || lpad((2000000 + i * 104729)::text, 8, '0'), NULL
  FROM generate_series(1, 226) i;
INSERT INTO sc_names VALUES
    (239, 'Пётр Щукин', '+7 912 345 67 89', 'p.shchukin@mail.ru'),
    (240, 'Petr Shchukin', '+7 (912) 345-67-89', NULL);
SELECT crmdedup.create_profile('names', 'sc_names',
    '{"region": "BR", "fields": {"full_name": "person_name", "phone": "phone", "email": "email"}}');
SELECT crmdedup.analyze('names');
SELECT term, round(freq::numeric, 4) AS freq FROM crmdedup.term_stats
 WHERE profile = 'names' AND term IN ('joao', 'da', 'silva', 'da joao silva', 'joaosilva', 'jsilva') ORDER BY term;
SELECT x.id AS a, y.id AS b, d.decision, round(d.score::numeric, 4) AS score,
       (SELECT string_agg(format('%s: %s %s%s', f->>'field', f->>'level', f->>'weight',
                                 CASE WHEN f ? 'explained_by' THEN ' (explained by ' || (f->>'explained_by') || ')' ELSE '' END),
                          ', ' ORDER BY f->>'field')
          FROM jsonb_array_elements(d.explanation->'fields') f) AS fields,
       abs(r.weight - d.weight) <= 1e-9 AND r.explanation = d.explanation AS same_as_reference
  FROM (VALUES (1, 2), (1, 5), (4, 8), (239, 240)) p(a, b)
  JOIN sc_names x ON x.id = p.a JOIN sc_names y ON y.id = p.b,
       LATERAL crmdedup.score_rows('names', to_jsonb(x), to_jsonb(y)) d,
       LATERAL pg_temp.ref_match_rows('names', to_jsonb(x), to_jsonb(y)) r
 ORDER BY 1, 2;
-- no two João da Silvas are "same"
SELECT count(*) AS pairs, count(*) FILTER (WHERE d.decision = 'same') AS same
  FROM sc_names x JOIN sc_names y ON x.id < y.id,
       LATERAL crmdedup.score_rows('names', to_jsonb(x), to_jsonb(y), false) d
 WHERE x.id <= 12 AND y.id <= 12;
-- "kh" reads as "h" in a mailbox name with a dot between the letters, in C as in SQL
SELECT (SELECT f->>'explained_by' FROM jsonb_array_elements(d.explanation->'fields') f WHERE f->>'field' = 'email') AS email_explained_by,
       abs(r.weight - d.weight) <= 1e-9 AND r.explanation = d.explanation AS same_as_reference
  FROM (VALUES ('{"full_name": "Ivan Makhov", "email": "ivan.mak.hov@gmail.com"}'::jsonb,
                '{"full_name": "Ivan Makhov", "email": "ivan.mak.hov@yandex.ru"}'::jsonb)) p(x, y),
       LATERAL crmdedup.score_rows('names', p.x, p.y) d,
       LATERAL pg_temp.ref_match_rows('names', p.x, p.y) r;
SELECT crmdedup.drop_profile('names');
DROP TABLE sc_names;

-- 0.2.0: a foreign name written in Han characters by its sound against its Latin spelling,
-- with the same phone, is "somewhat similar" (a maybe for a person to look at), no longer a
-- different name that made the pair distinct; another name stays different
CREATE TABLE sc_han (id int PRIMARY KEY, name text, phone text);
INSERT INTO sc_han VALUES (1, '克林顿', '+1 202 555 0101'), (2, 'Clinton', '+1-202-555-0101'),
    (3, 'Smith', '(202) 555-0101');
SELECT crmdedup.create_profile('han', 'sc_han', '{"fields": {"name": "person_name", "phone": "phone"}, "region": "US"}');
SELECT a.id AS a, b.id AS b, m.decision, round(m.score::numeric, 3) AS score,
       (SELECT string_agg(format('%s: %s %s', f->>'field', f->>'level', f->>'weight'), ', ' ORDER BY f->>'field')
          FROM jsonb_array_elements(m.explanation->'fields') f) AS fields
  FROM sc_han a JOIN sc_han b ON a.id < b.id, LATERAL crmdedup.match('han', a.id, b.id) m
 ORDER BY 1, 2;
SELECT crmdedup.drop_profile('han');
DROP TABLE sc_han;

SELECT crmdedup.drop_profile('sc'), crmdedup.drop_profile('sc2'), crmdedup.drop_profile('many');
DROP FUNCTION pg_temp.children(int);
DROP TABLE sc_phones, sc_people, sc_many;
